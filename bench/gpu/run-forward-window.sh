#!/bin/bash
# The 4B forward and whole-window verification of bench/gpu/kernels.ts beside torch_hf.py's
# forwards, in one short call (bench/gpu/README.md): the 4B checkpoint written, torch's bf16 and
# fp32 forwards, then the library's defaults at f16 and f32 (forward, then 64 rollouts x 1024
# tokens through verifyRollout, 4 at a time). Bundles in $G (kernels.mjs, make.mjs, torch_hf.py);
# results in $OUT: k.json, torch.json, phases.txt (a line per phase), smi.csv, and the logs
# make.log, torch.log, k.log.
cd "$(dirname "$0")/../.."
G="${G:-.gpu/k}"
ph() { echo "$(date -u +%H:%M:%S) $*" >> "$OUT/phases.txt"; }
ph setup
source bench/gpu/_setup.sh
cp "$G/make.mjs" .gpu/make-k.mjs
ph make4b
/tmp/node .gpu/make-k.mjs /tmp/q4b 4b > "$OUT/make.log" 2>&1
ph torch
TORCH_PARTS=forward timeout 90 python3 "$G/torch_hf.py" "$OUT/torch.json" /tmp/q4b > "$OUT/torch.log" 2>&1
ph reliquary
PARTS=forward,window FORWARD_VARIANTS=defaults F32_VARIANTS=defaults WINDOW_CONCURRENCY=4 \
  timeout 200 /tmp/node "$G/kernels.mjs" "$OUT/k.json" test/fixtures/reference /tmp/q4b 2>&1 |
  grep -v "warning\|subgroupMatrix\|\^\^\^" | tail -20 > "$OUT/k.log"
ph done
kill "$SMI"
