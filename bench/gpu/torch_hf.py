"""Torch side of bench/gpu/kernels.ts on the same card: transformers' Qwen3 (sdpa attention) on the
same random checkpoints, fp32 (TF32 off) and bf16. Forward of one 1024-token sequence (logits
complete, one scalar read), median of 5 after a warm-up; a window of 64 rollouts x 1024 tokens as
8 batches of 8; GEMM TFLOP/s on the kernels' shapes; peak memory per row.
Usage: python3 torch_hf.py OUT.json MODEL_DIR... (TORCH_PARTS=forward: the forwards only)"""
import json, os, statistics, sys, time
import torch
from transformers import AutoModelForCausalLM

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
out, dirs = sys.argv[1], sys.argv[2:]
rep = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "gemm": [], "forward": [], "window": []}
save = lambda: json.dump(rep, open(out, "w"), indent=2)
parts = os.environ.get("TORCH_PARTS", "gemm,forward,window").split(",")

def timed(fn, n=5):
    fn(); torch.cuda.synchronize()
    ts = []
    for _ in range(n):
        t = time.perf_counter(); fn(); torch.cuda.synchronize(); ts.append(time.perf_counter() - t)
    return statistics.median(ts)

for (M, K, N) in [(4096, 4096, 4096), (1024, 2560, 9728), (1024, 9728, 2560), (1024, 2560, 151936)] if "gemm" in parts else []:
    row = {"M": M, "K": K, "N": N}
    for dt in (torch.float32, torch.bfloat16):
        a = torch.randn(M, K, device="cuda", dtype=dt); b = torch.randn(K, N, device="cuda", dtype=dt)
        row[str(dt).split(".")[1] + "_tflops"] = 2 * M * K * N / timed(lambda: a @ b, 10) / 1e12
    rep["gemm"].append(row); save()

for d in dirs:
    for dt in (torch.bfloat16, torch.float32):
        torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
        m = AutoModelForCausalLM.from_pretrained(d, dtype=dt, attn_implementation="sdpa").cuda().eval()
        V = m.config.vocab_size
        toks = torch.tensor([[1 + (i * 7919) % (V - 1) for i in range(1024)]], device="cuda")
        with torch.no_grad():
            s = timed(lambda: float(m(toks).logits.float().sum()))
        rep["forward"].append({"model": d, "dtype": str(dt), "seq_len": 1024, "median_s": s, "tokens_per_s": 1024 / s, "peak_bytes": torch.cuda.max_memory_allocated()}); save()
        if "window" not in parts:
            del m
            continue
        torch.cuda.reset_peak_memory_stats()
        batch = torch.tensor([[1 + (j * 7919 + i * 104729) % (V - 1) for j in range(1024)] for i in range(8)], device="cuda")
        with torch.no_grad():
            def window():
                for _ in range(8):
                    lg = m(batch).logits.float()
                    lp = torch.log_softmax(lg, -1)
                    float(lp[:, :-1].gather(-1, batch[:, 1:, None]).sum())
            s = timed(window, 3)
        rep["window"].append({"model": d, "dtype": str(dt), "rollouts": 64, "seq_len": 1024, "seconds": s, "peak_bytes": torch.cuda.max_memory_allocated()}); save()
        del m
save()
