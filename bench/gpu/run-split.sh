#!/bin/bash
# A weight over the 2 GiB storage-binding limit on the GPU machine: bench/gpu/splitCheck.ts beside
# torch_split.py (bench/gpu/README.md). Bundles in $G (default .gpu), results under $OUT.
cd "$(dirname "$0")/../.."
G="${G:-.gpu}"
OUT="${OUT:-.}"
source bench/gpu/_setup.sh
cp $G/make.mjs .gpu/make-split.mjs
/tmp/node .gpu/make-split.mjs /tmp/wide wide > /tmp/run.log 2>&1
PARTS=split SPLIT_LOGITS=/tmp/logits.json /tmp/node $G/kernels.mjs $OUT/split.json test/fixtures/reference /tmp/wide >> /tmp/run.log 2>&1
python3 $G/torch_split.py $OUT/torch-split.json /tmp/wide /tmp/logits.json >> /tmp/run.log 2>&1
kill $SMI
grep -v "warning\|^\s*\^\|^\s*$\|subgroupMatrix\|^:\|Loading weights" /tmp/run.log | tail -n 40 > $OUT/run.log
