"""Torch side of bench/gpu/generate.ts on the same card: transformers' `generate` (bf16, sdpa
attention, the default dynamic cache) on the same random checkpoints and the same 64 prompts
(32-63 tokens, left-padded), 512 new tokens each at temperature 0.9 (top-p 1, top-k 0), EOS off
(min_new_tokens = max_new_tokens); new tokens/s over the whole call after a warm-up call of 8 new
tokens; peak memory (torch.cuda.max_memory_allocated) per row.
Usage: python3 torch_generate.py OUT.json MODEL_DIR...   (GEN_SEQS, GEN_NEW as in generate.ts)"""
import json, os, sys, time
import torch
from transformers import AutoModelForCausalLM

out, dirs = sys.argv[1], sys.argv[2:]
B = int(os.environ.get("GEN_SEQS", 64))
N = int(os.environ.get("GEN_NEW", 512))
rep = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "gen": []}
save = lambda: json.dump(rep, open(out, "w"), indent=2)


def prompts(vocab):
    """generate.ts's benchPrompts."""
    return [[1 + (j * 7919 + i * 104729) % (vocab - 1) for j in range(32 + (i * 7) % 32)] for i in range(B)]


for d in dirs:
    torch.cuda.empty_cache()
    t0 = time.perf_counter()
    m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.bfloat16, attn_implementation="sdpa").cuda().eval()
    load_s = time.perf_counter() - t0
    V = m.config.vocab_size
    ps = prompts(V)
    L = max(len(p) for p in ps)
    ids = torch.tensor([[0] * (L - len(p)) + p for p in ps], device="cuda")
    mask = torch.tensor([[0] * (L - len(p)) + [1] * len(p) for p in ps], device="cuda")
    kw = dict(attention_mask=mask, do_sample=True, temperature=0.9, top_p=1.0, top_k=0, pad_token_id=0)
    torch.manual_seed(0)
    with torch.no_grad():
        m.generate(ids, max_new_tokens=8, min_new_tokens=8, **kw)
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        o = m.generate(ids, max_new_tokens=N, min_new_tokens=N, **kw)
        torch.cuda.synchronize()
        s = time.perf_counter() - t
    new = int((o.shape[1] - L) * B)
    rep["gen"].append({"model": d, "dtype": "bfloat16", "sequences": B, "new_tokens_each": N, "new_tokens": new, "seconds": s,
                       "new_tokens_per_s": new / s, "load_s": load_s, "peak_bytes": torch.cuda.max_memory_allocated()})
    save()
    del m
save()
