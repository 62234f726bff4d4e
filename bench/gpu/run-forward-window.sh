#!/bin/bash
# The 4B forward and whole-window verification of bench/gpu/kernels.ts beside torch_hf.py's
# forwards, in one short call (about 270 s; bench/gpu/README.md): the 4B checkpoint written, torch's
# bf16 and fp32 forwards, then the library's defaults at f16 and f32 (forward, then 64 rollouts x
# 1024 tokens through verifyRollout, 4 at a time). Bundles in $G (kernels.mjs, make.mjs,
# torch_hf.py); results (k.json, torch.json, phases.txt, smi.csv) in $OUT.
cd "$(dirname "$0")/../.."
G="${G:-.gpu/k}"
source bench/gpu/_setup.sh
cp "$G/make.mjs" .gpu/make-k.mjs
date -u +%T > "$OUT/phases.txt"
/tmp/node .gpu/make-k.mjs /tmp/q4b 4b > "$OUT/make.log" 2>&1
date -u +%T >> "$OUT/phases.txt"
TORCH_PARTS=forward timeout 90 python3 "$G/torch_hf.py" "$OUT/torch.json" /tmp/q4b > "$OUT/torch.log" 2>&1
date -u +%T >> "$OUT/phases.txt"
PARTS=forward,window FORWARD_VARIANTS=defaults F32_VARIANTS=defaults WINDOW_CONCURRENCY=4 \
  timeout 200 /tmp/node "$G/kernels.mjs" "$OUT/k.json" test/fixtures/reference /tmp/q4b 2>&1 |
  grep -v "warning\|subgroupMatrix\|\^\^\^" | tail -20 > "$OUT/k.log"
date -u +%T >> "$OUT/phases.txt"
kill "$SMI"
