"""GPU side-by-side for bench/gpu/webgpu.ts: the shared torch baseline's decoder, moved to CUDA
(fp32, TF32 off), timed with synchronisation. Usage: python3 torch_gpu.py BASELINE_PY MODEL_DIR SEQ..."""
import importlib.util, json, statistics, sys, time
import torch

spec = importlib.util.spec_from_file_location("tb", sys.argv[1])
tb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tb)
torch.backends.cuda.matmul.allow_tf32 = False
dec = tb.Decoder(sys.argv[2])
dec.w = {k: v.cuda() for k, v in dec.w.items()}
dec.lm = dec.w.get("lm_head.weight", dec.w["model.embed_tokens.weight"])
torch.set_default_device("cuda")
for T in [int(x) for x in sys.argv[3:]]:
    toks = [(i * 7919) % (dec.lm.shape[0] - 1) + 1 for i in range(T)]
    ts = []
    for r in range(6):
        torch.cuda.synchronize(); t = time.perf_counter()
        h, lg = dec.forward(toks)
        float(lg.sum()); torch.cuda.synchronize()
        if r: ts.append(time.perf_counter() - t)
    med = statistics.median(ts)
    print(json.dumps({"what": "torch_cuda_forward", "model": sys.argv[2].rstrip("/").split("/")[-1], "seq_len": T, "median_s": med, "tokens_per_s": T / med, "device": torch.cuda.get_device_name()}))
