#!/bin/bash
# bench/gpu/kernels.ts and torch_hf.py in one call on the GPU machine (bench/gpu/README.md), from the
# repository root there, with the bundles in $G (default .gpu: kernels.mjs, make.mjs, torch_hf.py)
# and results written under $OUT. Usage: bash bench/gpu/run-kernels.sh PARTS_WITHOUT_MODEL PARTS_4B
cd "$(dirname "$0")/../.."
G="${G:-.gpu}"
OUT="${OUT:-.}"
L=$OUT/run.log
ph() { echo "$(date -u +%H:%M:%S) $*" >> $OUT/phases.txt; }
ph setup
source bench/gpu/_setup.sh
cp $G/make.mjs .gpu/make-gpuperf.mjs
(/tmp/node .gpu/make-gpuperf.mjs /tmp/q4b 4b > /tmp/make.log 2>&1) &
MK=$!
ph "k1 ${1}"
[ -n "$1" ] && PARTS=$1 /tmp/node $G/kernels.mjs $OUT/k1.json test/fixtures/reference > /tmp/k1.log 2>&1
wait $MK
ph "k2 ${2}"
PARTS=$2 WINDOW_CONCURRENCY=4 /tmp/node $G/kernels.mjs $OUT/k2.json test/fixtures/reference /tmp/q4b > /tmp/k2.log 2>&1
ph torch
[ "${NO_TORCH:-0}" = 1 ] || python3 $G/torch_hf.py $OUT/torch.json /tmp/q4b > /tmp/torch.log 2>&1
ph done
kill $SMI
for f in make k1 k2 torch; do echo "== $f"; grep -v "warning\|^\s*\^\|^\s*$\|subgroupMatrix\|^:" /tmp/$f.log | tail -n 40; done > $L 2>&1
nvidia-smi >> $L
