#!/bin/bash
# A weight over the 2 GiB storage-binding limit on the GPU machine: bench/gpu/splitCheck.ts beside
# torch_split.py (bench/gpu/README.md). Bundles in $G (default .gpu), results under $OUT.
cd "$(dirname "$0")/../.."
G="${G:-.gpu}"
OUT="${OUT:-.}"
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json XDG_RUNTIME_DIR=/tmp
xz -d -c .gpu/node.xz > /tmp/node && chmod +x /tmp/node
[ -f .gpu/node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -d -k .gpu/node_modules/webgpu/dist/linux-x64/dawn.node.xz
nvidia-smi --query-gpu=timestamp,memory.used,clocks.sm --format=csv,noheader -lms 250 > $OUT/smi.csv &
SMI=$!
cp $G/make.mjs .gpu/make-split.mjs
/tmp/node .gpu/make-split.mjs /tmp/wide wide > /tmp/run.log 2>&1
PARTS=split SPLIT_LOGITS=/tmp/logits.json /tmp/node $G/kernels.mjs $OUT/split.json test/fixtures/reference /tmp/wide >> /tmp/run.log 2>&1
python3 $G/torch_split.py $OUT/torch-split.json /tmp/wide /tmp/logits.json >> /tmp/run.log 2>&1
kill $SMI
grep -v "warning\|^\s*\^\|^\s*$\|subgroupMatrix\|^:\|Loading weights" /tmp/run.log | tail -n 40 > $OUT/run.log
