#!/bin/bash
# The GRPO step on the GPU in one call: torch (bench/torch_grpo.py --device cuda) then
# reliquary (generate.ts, part grpo, one row per GRPO_PER_PASS x GRPO_GEMM x GRPO_CHECKPOINT
# combination: by default the src/gpu GEMMs without and with layer checkpointing, then TF.js's own
# products; GRPO_GEMM=gemm-only: the GEMMs without the fused elementwise ops), from the bundle in
# .gpu/gpugrpo (bench/gpu/README.md), with nvidia-smi memory samples every 200 ms and phase times
# in log.txt. Writes $OUT/.
cd "$(dirname "$0")/../.."
G=.gpu/gpugrpo
L=$OUT/log.txt
ph() { echo "=== $(date -u +%H:%M:%S.%N) $*" >> $L; }
ph setup
SMI_MS=200 source bench/gpu/_setup.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >> $L
cp $G/make.mjs .gpu/make.mjs
ph make06
/tmp/node .gpu/make.mjs /tmp/q06 >> $L 2>&1
ph torchgrpo
timeout ${TG_S:-80} python3 $G/torch_grpo.py /tmp/q06 8 8 256 2 --baseline $G/torch_baseline.py --device cuda > $OUT/torchgrpo.json 2>> $L
ph grpo
PARTS=grpo timeout ${GRPO_S:-360} /tmp/node $G/generate.mjs $OUT/grpo.json /tmp/q06 2>&1 | grep -v "warning\|subgroupMatrix\|\^\^\^\|^$" >> $L
ph done
kill $SMI
