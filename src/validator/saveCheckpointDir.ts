import { copyFile, mkdir, readdir, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { CausalLM } from '../model/loadModel.js'
import { saveModel } from '../model/saveModel.js'
import { moveDirOnce } from '../_utils/atomicWrite.js'

/** Files of a model directory that travel with a checkpoint besides the weights and config (tokenizer, generation config). */
async function copyTokenizerFiles(from: string, to: string): Promise<void> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    if (
      !e.isFile() ||
      e.name.startsWith('.') ||
      e.name === 'config.json' ||
      e.name.endsWith('.safetensors') ||
      e.name.endsWith('.safetensors.index.json') ||
      e.name === 'reliquary_custody.json'
    )
      continue
    await copyFile(join(from, e.name), join(to, e.name))
  }
}

/**
 * Saves the policy as a publishable checkpoint directory (weights in `dtype`, config, the base
 * model's tokenizer files) at `dir`, through a staging directory next to it, so `dir` appears
 * complete or not at all; an existing `dir` is never replaced (`STATE_CONFLICT` unless identical).
 * @internal
 */
export async function saveCheckpointDir(p: {
  policy: CausalLM
  dir: string
  dtype: 'F32' | 'BF16'
  modelDir: string
}): Promise<void> {
  const staging = join(dirname(p.dir), `.staging-${process.pid}-${Date.now()}`)
  await rm(staging, { recursive: true, force: true })
  await mkdir(staging, { recursive: true })
  try {
    await saveModel(p.policy, staging, { dtype: p.dtype })
    await copyTokenizerFiles(p.modelDir, staging)
    await moveDirOnce(staging, p.dir, 'Checkpoint')
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
