import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Plugin } from 'esbuild'
import { defineConfig, type Options } from 'tsup'

// TensorFlow.js, the Hub client and the chain client are optional peer dependencies. A static `import` of a missing
// package fails while Node links the module graph, before any of our code runs, so the build
// routes every import of them through a generated module that loads the package with `require`
// (each has a CommonJS entry) and turns "not installed" into `TFJS_NOT_AVAILABLE`,
// `HUB_NOT_AVAILABLE` or `CHAIN_CLIENT_NOT_AVAILABLE` with the install command. The generated module re-exports the package's
// names, so the sources keep plain imports.
const requireHere = createRequire(import.meta.url)
const exportNames = (pkg: string) =>
  Object.keys(requireHere(pkg)).filter(
    (k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default' && k !== '__esModule',
  )
const optionalPeerGuard: Plugin = {
  name: 'optional-peer-guard',
  setup(build) {
    build.onResolve(
      { filter: /^(@tensorflow\/tfjs-core|@huggingface\/hub|@polkadot\/api)$/ },
      (args) => ({
        path: args.path,
        namespace: 'optional-peer-guard',
      }),
    )
    build.onLoad({ filter: /.*/, namespace: 'optional-peer-guard' }, (args) => ({
      loader: 'js',
      resolveDir: fileURLToPath(new URL('./src/_peers', import.meta.url)),
      contents: [
        "import { createRequire } from 'node:module'",
        "import { isModuleNotFound, peerNotAvailable } from './peerNotAvailable.ts'",
        'let m',
        `try { m = createRequire(import.meta.url)('${args.path}') } catch (e) {`,
        `  throw isModuleNotFound(e) ? peerNotAvailable('${args.path}', e) : e`,
        '}',
        ...exportNames(args.path).map((k) => `export const ${k} = m.${k}`),
      ].join('\n'),
    }))
  },
}

const shared = {
  format: ['esm', 'cjs'],
  // No source maps: the package ships its code once, as dist/ (the issue with maps was sources
  // shipping three times; maps without their sources help nobody).
  sourcemap: false,
  target: 'es2022',
  platform: 'node',
  // Bundled, not external: the generated guards above and TF.js's gradient registration.
  noExternal: [/^@tensorflow\/tfjs-core(\/dist\/.*)?$/, /^@huggingface\/hub$/, /^@polkadot\/api$/],
  esbuildPlugins: [optionalPeerGuard],
  // The GPU backend is the application's to install (it is loaded at run time when chosen).
  external: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'],
} satisfies Options

const entry = {
  index: 'src/index.ts',
  'grail/index': 'src/grail/index.ts',
  'protocol/index': 'src/protocol/index.ts',
  'crypto/index': 'src/crypto/index.ts',
  'drand/index': 'src/drand/index.ts',
  'conformance/index': 'src/conformance/index.ts',
  'reward/index': 'src/reward/index.ts',
  'window/index': 'src/window/index.ts',
  'rollout/index': 'src/rollout/index.ts',
  'manifest/index': 'src/manifest/index.ts',
  'model/index': 'src/model/index.ts',
  'gpu/index': 'src/gpu/index.ts',
  'hub/index': 'src/hub/index.ts',
  'grpo/index': 'src/grpo/index.ts',
  'miner/index': 'src/miner/index.ts',
  'validator/index': 'src/validator/index.ts',
  'demo/index': 'src/demo/index.ts',
  // The demo's miner thread (started with `new Worker`, found next to the demo's chunks).
  'demo/minerWorker': 'src/demo/_minerWorker.ts',
  'chain/index': 'src/chain/index.ts',
  // The validator's model worker thread (started by createModelWorker from this file).
  'validator/modelWorker': 'src/validator/worker/_modelWorkerMain.ts',
  // The validator's /submit parsing threads (started by SubmitPool from this file).
  'validator/submitPoolWorker': 'src/validator/http/_submitPoolMain.ts',
}
const gradientsEntry = { 'tfjs-gradients/index': 'src/tfjs-gradients/index.ts' }

export default defineConfig([
  {
    ...shared,
    entry,
    // Every entry's declarations in one pass (a second pass would be removed by `clean`).
    dts: { entry: { ...entry, ...gradientsEntry } },
    clean: true,
    treeshake: true,
  },
  {
    // TF.js's gradient registration, standalone (no shared chunk) so that importing it has its
    // effect (listed in package.json `sideEffects`); TF.js's own code, so minified (its license
    // comments kept).
    ...shared,
    entry: gradientsEntry,
    minify: true,
    shims: true,
  },
  {
    ...shared,
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    banner: { js: '#!/usr/bin/env node' },
  },
])
