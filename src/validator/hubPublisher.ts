import { join } from 'node:path'
import type { Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError } from '../errors/base.js'
import { publishCheckpoint } from '../hub/publishCheckpoint.js'
import type { OnTransferProgress } from '../hub/transferProgress.js'
import { loadModel, type CausalLM } from '../model/loadModel.js'
import { saveCheckpointDir } from './saveCheckpointDir.js'
import type { CheckpointPublisher } from './steps/publishPolicy.js'

/** Where and how the validator publishes checkpoints (docs/protocol.md §9). */
export type ValidatorHubOptions = {
  /** Hub base URL (the local Hub server's `url` in the demo). @default https://huggingface.co */
  hubUrl?: string | undefined
  /** Model repo, `namespace/name`. */
  repoId: string
  /** Write token (`hf_…`). */
  accessToken: string
  /** `fetch` to use. @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Upload progress of each publish (`publishCheckpoint`'s `onProgress`). */
  onProgress?: OnTransferProgress | undefined
}

/** Parameters of {@link createHubPublisher}. */
export type CreateHubPublisherParameters = {
  hub: ValidatorHubOptions
  /** The base model directory: its tokenizer files travel with every checkpoint. */
  modelDir: string
  /** Checkpoints are saved here as `ckpt_<n>` before publishing. */
  checkpointDir: string
  /** Stored dtype of published weights. */
  checkpointDtype: 'F32' | 'BF16'
  /** Signs the manifests. */
  hotkey: Hotkey
  /** Custody `base_model`. */
  baseModel: { id: string; revision: string }
  /** The protocol profile's id (custody `profile_id`). */
  profileId: string
}

/**
 * E3 (822be1a): verify against, and regularise towards, exactly the published weights.
 * @internal
 */
export async function reloadVerifyModel(verifyModel: CausalLM, dir: string): Promise<void> {
  const fresh = await loadModel(dir, { trainable: false })
  try {
    for (const [name, v] of verifyModel.weights) {
      const src = fresh.weights.get(name)
      if (!src)
        throw new ReliquaryError('MODEL_WEIGHT_MISSING', `The saved checkpoint lacks ${name}.`)
      v.assign(src)
    }
  } finally {
    fresh.dispose()
  }
}

/**
 * The validator's publisher for a Hugging Face-style Hub: saves the policy as `ckpt_<n>` (with the
 * base model's tokenizer files; never over an existing one) unless given an already saved `dir`,
 * publishes it with a signed custody manifest, and reloads the
 * verify model from what was saved.
 *
 * - Spec: docs/protocol.md §9.
 *
 * @param p - {@link CreateHubPublisherParameters}
 * @returns A {@link CheckpointPublisher}.
 */
export function createHubPublisher(p: CreateHubPublisherParameters): CheckpointPublisher {
  const { hub } = p
  return async ({ checkpointN, models, parent, windows, dir: saved }) => {
    const dir = saved ?? join(p.checkpointDir, `ckpt_${checkpointN}`)
    if (saved === undefined)
      await saveCheckpointDir({
        policy: models.policy,
        dir,
        dtype: p.checkpointDtype,
        modelDir: p.modelDir,
      })
    const out = await publishCheckpoint({
      repoId: hub.repoId,
      dir,
      checkpointN,
      hotkey: p.hotkey,
      accessToken: hub.accessToken,
      custody: { baseModel: p.baseModel, profileId: p.profileId, parent, windows: [...windows] },
      ...(hub.hubUrl !== undefined ? { hubUrl: hub.hubUrl } : {}),
      ...(hub.fetch !== undefined ? { fetch: hub.fetch } : {}),
      ...(hub.onProgress !== undefined ? { onProgress: hub.onProgress } : {}),
    })
    await reloadVerifyModel(models.verifyModel, dir)
    return {
      checkpointN,
      revision: out.revision,
      repoId: hub.repoId,
      referenceManifest: out.referenceManifest,
      custodyManifest: out.custodyManifest,
    }
  }
}
