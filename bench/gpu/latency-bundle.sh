#!/bin/bash
# Bundles bench/validator-latency.ts with its two thread entries and TF.js's gradient
# registration for a machine without Node modules (the GPU machine's 16 cores):
#   bash bench/gpu/latency-bundle.sh SRC_TREE OUT_DIR
# SRC_TREE: a checkout (its node_modules installed); OUT_DIR gets bench.mjs, a package.json named
# reliquary (how the thread entries are found) and dist/. The wasm backend's binaries and a Node
# binary go beside it (see README.md, "The validator's HTTP latency on many cores").
set -euo pipefail
src=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
mkdir -p "$out/dist/validator" "$out/dist/tfjs-gradients"
echo '{"name":"reliquary","type":"module","private":true,"exports":{"./tfjs-gradients":"./dist/tfjs-gradients/index.js"}}' >"$out/package.json"
B=(--bundle --platform=node --format=esm --target=node20 --log-level=error
  "--banner:js=import { createRequire as __cr } from 'module'; import { fileURLToPath as __fu } from 'url'; import { dirname as __dn } from 'path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);")
cd "$src"
npx esbuild bench/validator-latency.ts "${B[@]}" --outfile="$out/bench.mjs"
npx esbuild src/validator/http/_submitPoolMain.ts "${B[@]}" --outfile="$out/dist/validator/submitPoolWorker.js"
npx esbuild src/validator/worker/_modelWorkerMain.ts "${B[@]}" --outfile="$out/dist/validator/modelWorker.js"
npx esbuild src/tfjs-gradients/index.ts "${B[@]}" --outfile="$out/dist/tfjs-gradients/index.js"
