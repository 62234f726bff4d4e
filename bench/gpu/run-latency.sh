#!/bin/bash
# On the GPU machine (its CPUs only): the arrival of 200 full-size /submit bodies, a baseline
# library and a new one alternating, from `.lat/base` and `.lat/new` (latency-bundle.sh), then
# parsing-thread counts and one run of every mode and phase. Results in $OUT.
#   bash bench/gpu/run-latency.sh [RUNS] [EXTRA_WORKERS...]
set -u
runs=${1:-6}
shift || true
xz -d -c .lat/node.xz >/tmp/node && chmod +x /tmp/node
{ lscpu | grep -E "Model name|^CPU\(s\)|Thread|Socket"; uptime; } >"$OUT/machine.txt"
run() { # tree tag args...
  local t=$1 tag=$2
  shift 2
  line=$(timeout 60 /tmp/node ".lat/$t/bench.mjs" --json --modes worker+pool --only verify --warm-bodies 200 "$@" 2>>"$OUT/err.log" | tail -1)
  echo "{\"tree\":\"$t\",\"tag\":\"$tag\",\"r\":${line:-null}}" >>"$OUT/lat.jsonl"
  echo "$(date +%T) $t $tag done"
}
for i in $(seq 1 "$runs"); do run base "$i"; run new "$i"; done
for w in "$@"; do for i in 1 2; do run new "w$w-$i" --submit-workers "$w"; done; done
if [ "$SECONDS" -lt 330 ]; then
  timeout 190 /tmp/node .lat/new/bench.mjs --json --warm-bodies 200 2>>"$OUT/err.log" | tail -1 >"$OUT/full-new.json"
fi
uptime >>"$OUT/machine.txt"
