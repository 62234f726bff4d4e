#!/bin/bash
# bench/gpu/kernels.ts beside torch_hf.py in a short call (bench/gpu/README.md): parity on the
# tiny fixtures while the 4B checkpoint is written, torch forwards only, then the f16 forward
# (main before runs 10-11 and the defaults) and the f32 forward. Bundles in $G; results in $OUT.
cd "$(dirname "$0")/../.."
G="${G:-.gpu}"
ph() { echo "$(date -u +%H:%M:%S) $*" >> $OUT/phases.txt; }
ph setup
source bench/gpu/_setup.sh
cp $G/make.mjs .gpu/make-forward.mjs
(/tmp/node .gpu/make-forward.mjs /tmp/q4b 4b > /tmp/make.log 2>&1) &
MK=$!
ph "k1 parity"
PARTS=parity /tmp/node $G/kernels.mjs $OUT/k1.json test/fixtures/reference > /tmp/k1.log 2>&1
wait $MK
ph torch
TORCH_PARTS=forward python3 $G/torch_hf.py $OUT/torch.json /tmp/q4b > /tmp/torch.log 2>&1
ph "k2 forward"
PARTS=forward FORWARD_VARIANTS=landed_2x2,defaults,landed_2x2 F32_VARIANTS=defaults /tmp/node $G/kernels.mjs $OUT/k2.json test/fixtures/reference /tmp/q4b > /tmp/k2.log 2>&1
ph done
kill $SMI
for f in make k1 torch k2; do echo "== $f"; grep -v "warning\|^\s*\^\|^\s*$\|subgroupMatrix\|^:" /tmp/$f.log | tail -n 20; done > $OUT/run.log 2>&1
