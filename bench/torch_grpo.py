"""Torch GRPO step, for side-by-side timing with `reliquary bench grpo`.

The same step as the reference validator (docs/protocol.md §7): per-rollout PPO-clipped surrogate
against the miner's completion log-probs, Schulman k3 KL against a frozen copy, token mean per
rollout divided by the total rollout count, gradients accumulated rollout by rollout,
clip_grad_norm_(1.0), torch.optim.AdamW(5e-6, (0.9, 0.999), 1e-8, 0.01), fp32. The decoder math
and the checkpoint reader come from shared/bench/torch_baseline.py.

    /usr/bin/python3 bench/torch_grpo.py MODEL_DIR GROUPS ROLLOUTS SEQ_LEN [REPEATS] [--baseline PATH] [--device cuda]
Prints one JSON line: {"what": "torch_grpo_step", "median_s", "per_s" (rollouts/s), ...}.
With `--device cuda` the weights, optimizer state and every op are on the GPU (fp32, TF32 off),
each timed step ends with a synchronize, and the line adds the peak CUDA memory.
"""
import importlib.util, json, math, os, resource, statistics, sys, time

import torch

args = [a for a in sys.argv[1:] if not a.startswith("--")]
base_path = sys.argv[sys.argv.index("--baseline") + 1] if "--baseline" in sys.argv else os.path.join(os.path.dirname(__file__), "../../shared/bench/torch_baseline.py")
if "--baseline" in sys.argv:
    args.remove(base_path)
dev = sys.argv[sys.argv.index("--device") + 1] if "--device" in sys.argv else "cpu"
if "--device" in sys.argv:
    args.remove(dev)
if dev != "cpu":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_default_device(dev)
spec = importlib.util.spec_from_file_location("torch_baseline", base_path)
tb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tb)

model_dir, G, M, T = args[0], int(args[1]), int(args[2]), int(args[3])
repeats = int(args[4]) if len(args) > 4 else 3
P = 32


def forward(dec, w, tokens):
    """Decoder.forward of the baseline, with gradients and a tensor weight dict."""
    cfg, Tn = dec.cfg, len(tokens)
    x = w["model.embed_tokens.weight"][torch.tensor(tokens)]
    pos = torch.arange(Tn)
    mask = torch.full((Tn, Tn), float("-inf")).triu(1)
    for i in range(dec.L):
        p = f"model.layers.{i}."
        h = tb.rms(x, w[p + "input_layernorm.weight"], dec.eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(Tn, dec.H, dec.hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(Tn, dec.KV, dec.hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(Tn, dec.KV, dec.hd)
        if dec.qk_norm:
            q = tb.rms(q, w[p + "self_attn.q_norm.weight"], dec.eps)
            k = tb.rms(k, w[p + "self_attn.k_norm.weight"], dec.eps)
        q = tb.rope(q.transpose(0, 1), pos, dec.theta, dec.hd)
        k = tb.rope(k.transpose(0, 1), pos, dec.theta, dec.hd)
        v = v.transpose(0, 1)
        rep = dec.H // dec.KV
        k, v = k.repeat_interleave(rep, 0), v.repeat_interleave(rep, 0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dec.hd) + mask, -1) @ v
        x = x + att.transpose(0, 1).reshape(Tn, -1) @ w[p + "self_attn.o_proj.weight"].T
        h = tb.rms(x, w[p + "post_attention_layernorm.weight"], dec.eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = tb.rms(x, w["model.norm.weight"], dec.eps)
    lm = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    return x @ lm.T


def completion_logprobs(logits, tokens):
    lp = torch.log_softmax(logits[P - 1 : len(tokens) - 1].float(), -1)
    return lp.gather(1, torch.tensor(tokens[P:]).unsqueeze(1)).squeeze(1)


dec = tb.Decoder(model_dir)
policy = {k: v.to(dev).clone().requires_grad_(True) for k, v in dec.w.items()}
ref = {k: v.to(dev).clone() for k, v in dec.w.items()}
vocab = policy["model.embed_tokens.weight"].shape[0]
g = torch.Generator(device="cpu").manual_seed(0)
batch = []
for _ in range(G):
    rollouts = []
    for _ in range(M):
        toks = [int(t) for t in torch.randint(1, vocab, (T,), generator=g, device="cpu")]
        with torch.no_grad():
            old = completion_logprobs(forward(dec, ref, toks), toks) + 0.01 * torch.randn(T - P, generator=g, device="cpu").to(dev)
        rollouts.append((toks, float(torch.randint(0, 2, (1,), generator=g, device="cpu")), old))
    batch.append(rollouts)
opt = torch.optim.AdamW(list(policy.values()), lr=5e-6, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
n_total = G * M


def step():
    opt.zero_grad()
    for rollouts in batch:
        r = torch.tensor([x[1] for x in rollouts])
        std = r.std(unbiased=False)
        if std < 1e-8:
            continue
        adv = (r - r.mean()) / std
        for (toks, _, old), a in zip(rollouts, adv):
            new = completion_logprobs(forward(dec, policy, toks), toks)
            with torch.no_grad():
                refl = completion_logprobs(forward(dec, ref, toks), toks)
            ratio = torch.exp(new - old)
            ppo = -torch.min(ratio * a, torch.clamp(ratio, 0.8, 1.2) * a).mean()
            kl = (torch.exp(refl - new) - 1 - (refl - new)).mean()
            ((ppo + 0.04 * kl) / n_total).backward()
    torch.nn.utils.clip_grad_norm_(list(policy.values()), 1.0)
    opt.step()


sync = torch.cuda.synchronize if dev != "cpu" else (lambda: None)
step()
sync()
ts = []
for _ in range(repeats):
    t = time.perf_counter()
    step()
    sync()
    ts.append(time.perf_counter() - t)
med = statistics.median(ts)
print(json.dumps({"what": "torch_grpo_step", "model": os.path.basename(model_dir.rstrip("/")), "groups": G, "rollouts": M, "seq_len": T,
                  "median_s": med, "per_s": G * M / med, "unit": "rollouts", "threads": torch.get_num_threads(),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, "device": dev,
                  **({"cuda": torch.cuda.get_device_name(), "peak_cuda_bytes": torch.cuda.max_memory_allocated()} if dev != "cpu" else {})}))
