#!/bin/bash
# bench/gpu/generate.ts and its torch sides (torch_generate.py, torch_grpo.py --device cuda) in one
# call on the GPU machine, from the bundle in .gpu/gpugen (bench/gpu/README.md). Writes $OUT/.
cd "$(dirname "$0")/../.."
G=.gpu/gpugen
L=$OUT/log.txt
ph() { echo "=== $(date -u +%H:%M:%S) $*" >> $L; }
ph setup
SMI_MS=200 source bench/gpu/_setup.sh
cp $G/make.mjs .gpu/make.mjs
ph make06
/tmp/node .gpu/make.mjs /tmp/q06 >> $L 2>&1
(/tmp/node .gpu/make.mjs /tmp/q4b 4b >> $L 2>&1) &
MK=$!
ph torchgrpo
timeout ${TG_S:-70} python3 $G/torch_grpo.py /tmp/q06 8 8 256 2 --baseline $G/torch_baseline.py --device cuda > $OUT/torchgrpo.json 2>> $L
wait $MK
ph gen
PARTS=gen timeout ${GEN_S:-200} /tmp/node $G/generate.mjs $OUT/gen.json /tmp/q06 /tmp/q4b 2>&1 | grep -v "warning\|subgroupMatrix\|\^\^\^\|^$" >> $L
ph torchgen
timeout ${TGEN_S:-100} python3 $G/torch_generate.py $OUT/torchgen.json /tmp/q06 /tmp/q4b >> $L 2>&1
ph grpo
PARTS=grpo GRPO_REPEATS=1 timeout ${GRPO_S:-60} /tmp/node $G/generate.mjs $OUT/grpo.json /tmp/q06 2>&1 | grep -v "warning\|subgroupMatrix\|\^\^\^\|^$" >> $L
ph done
kill $SMI
