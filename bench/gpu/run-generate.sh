#!/bin/bash
# bench/gpu/generate.ts and its torch sides (torch_generate.py, torch_grpo.py --device cuda) in one
# call on the GPU machine, from the bundle in .gpu/gpugen (bench/gpu/README.md). Writes $OUT/.
# STEPS (default torchgrpo,host,gen,torchgen,grpo) picks the phases; GEN_REPLAY (default '1,0;1':
# on and off on the first checkpoint's load, on only on the second) the decode-step replay modes;
# GRPO_ROWS (default 8:gpu:1, the library's webgpu defaults) the GRPO rows.
cd "$(dirname "$0")/../.."
G=.gpu/gpugen
L=$OUT/log.txt
STEPS=,${STEPS:-torchgrpo,host,gen,torchgen,grpo},
has() { [[ $STEPS == *,$1,* ]]; }
for s in ${STEPS//,/ }; do
  [[ ,torchgrpo,host,gen,torchgen,grpo, == *,$s,* ]] || echo "run-generate.sh: unknown step $s (skipped)" >&2
done
ph() { echo "=== $(date -u +%H:%M:%S) $*" >> $L; }
quiet() { grep -v "warning\|subgroupMatrix\|\^\^\^\|^$" >> $L; }
ph setup
SMI_MS=200 source bench/gpu/_setup.sh
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv >> $L
cp $G/make.mjs .gpu/make.mjs
ph make06
/tmp/node .gpu/make.mjs /tmp/q06 >> $L 2>&1
MK=
if has gen || has torchgen; then (/tmp/node .gpu/make.mjs /tmp/q4b 4b >> $L 2>&1) & MK=$!; fi
if has torchgrpo; then
  ph torchgrpo
  timeout ${TG_S:-80} python3 $G/torch_grpo.py /tmp/q06 8 8 256 2 --baseline $G/torch_baseline.py --device cuda > $OUT/torchgrpo.json 2>> $L
fi
if has host; then
  ph host
  PARTS=host timeout ${HOST_S:-90} /tmp/node $G/generate.mjs $OUT/host.json 2>&1 | quiet
fi
[ -n "$MK" ] && ph wait-make4b && wait $MK
if has gen; then
  ph gen
  PARTS=gen GEN_REPLAY="${GEN_REPLAY:-1,0;1}" timeout ${GEN_S:-230} /tmp/node $G/generate.mjs $OUT/gen.json /tmp/q06 /tmp/q4b 2>&1 | quiet
fi
if has torchgen; then
  ph torchgen
  timeout ${TGEN_S:-200} python3 $G/torch_generate.py $OUT/torchgen.json /tmp/q06 /tmp/q4b >> $L 2>&1
fi
if has grpo; then
  ph grpo
  PARTS=grpo GRPO_ROWS=${GRPO_ROWS:-8:gpu:1} GRPO_REPEATS=${GRPO_REPEATS:-2} timeout ${GRPO_S:-100} /tmp/node $G/generate.mjs $OUT/grpo.json /tmp/q06 2>&1 | quiet
fi
ph done
kill $SMI
