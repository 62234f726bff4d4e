#!/usr/bin/env bash
# Wall time of `reliquary demo` (default options: 12 windows) beside a baseline revision, in the
# same invocation, with the load average before and after each run.
#
#   bash bench/demo-time.sh [BASE_REV]        (default BASE_REV: b4f1dd9, before the miner threads)
#   WINDOWS=2 bash bench/demo-time.sh         (a quick check of the script itself)
#   NO_BUILD=1 bash bench/demo-time.sh        (this checkout's dist/ is already built)
#
# Both revisions run from their own build (`node dist/cli/main.js demo`); the baseline is checked
# out in a temporary git worktree that borrows this checkout's node_modules. Results go to
# bench/out/demo-time-<UTC time>.md (a Markdown row per run) and stdout. The numbers mean
# something only on a quiet machine: compare the load averages with `nproc`.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${1:-b4f1dd9}"
WINDOWS="${WINDOWS:-12}"
ROOT="$PWD"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p bench/out
OUT="bench/out/demo-time-$STAMP.md"
WT="$(mktemp -d /tmp/reliquary-demo-base-XXXXXX)"
cleanup() {
  git -C "$ROOT" worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"
}
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), node $(node -v)"

echo "building this checkout ($(git rev-parse --short HEAD))…" >&2
[ "${NO_BUILD:-}" = 1 ] || npx tsup --silent 1>&2
echo "building the baseline $BASE in $WT…" >&2
git worktree add --detach "$WT" "$BASE" >/dev/null 2>&1
ln -s "$ROOT/node_modules" "$WT/node_modules"
(cd "$WT" && npx tsup --silent 1>&2)

run() { # label dir
  local label="$1" dir="$2" before after t0 t1 log
  log="bench/out/demo-time-$STAMP-$label.log"
  before="$(load)"
  t0="$(date +%s.%N)"
  (cd "$dir" && node dist/cli/main.js demo --windows "$WINDOWS" --out "$(mktemp -d)/report.html") >"$log" 2>&1
  t1="$(date +%s.%N)"
  after="$(load)"
  local secs
  secs="$(echo "$t1 - $t0" | bc)"
  printf '| %s | %s | `reliquary demo --windows %s` | %s | %.1f s | %s → %s |\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$label ($(git -C "$dir" rev-parse --short HEAD))" "$WINDOWS" \
    "$machine" "$secs" "$before" "$after" | tee -a "$OUT"
}

echo "| when (UTC) | revision | command | machine | wall time | load average (1, 5, 15 min) before → after |" | tee "$OUT"
echo "|---|---|---|---|---|---|" | tee -a "$OUT"
run baseline "$WT"
run current "$ROOT"
echo "written: $OUT (logs beside it)" >&2
