import { defineConfig } from 'tsup'

export default defineConfig([
  {
    entry: {
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
      'chain/index': 'src/chain/index.ts',
    },
    format: ['esm', 'cjs'],
    // Shared chunks in CJS too: one module instance per source file across subpaths (the same
    // ReliquaryError class from 'reliquary' and 'reliquary/grpo'), and no per-entry copies whose
    // tree-shaken imports the bundler would report as unused.
    splitting: true,
    dts: true,
    sourcemap: true,
    clean: true,
    treeshake: true,
    target: 'es2022',
    platform: 'node',
    // Optional GPU packages the application installs; never bundled.
    external: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'],
  },
  {
    entry: { 'cli/main': 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'es2022',
    platform: 'node',
    // Optional GPU packages the application installs; never bundled.
    external: ['@tensorflow/tfjs-backend-webgpu', 'webgpu'],
    banner: { js: '#!/usr/bin/env node' },
  },
])
