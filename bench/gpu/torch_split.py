"""Torch side of bench/gpu/splitCheck.ts: the same checkpoint in fp32 (TF32 off), the last row's
logits of the same 64 tokens, compared with reliquary's f32 (split) logits from LOGITS.json.
Usage: python3 torch_split.py OUT.json MODEL_DIR LOGITS.json"""
import json, sys
import torch
from transformers import AutoModelForCausalLM

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
out, d, ours = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
m = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="sdpa").cuda().eval()
with torch.no_grad():
    ref = m(torch.tensor([ours["tokens"]], device="cuda")).logits[0, -1].double().cpu()
got = torch.tensor(ours["logits"], dtype=torch.float64)
rel = float((got - ref).norm() / ref.norm())
json.dump({"model": d, "rel_l2_vs_torch_fp32": rel, "max_abs_diff": float((got - ref).abs().max()),
           "argmax_equal": int(got.argmax()) == int(ref.argmax())}, open(out, "w"), indent=2)
