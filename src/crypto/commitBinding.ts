import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError } from '../errors/base.js'
import { be32Signed, concatBytes, lp4, utf8 } from '../_utils/bytes.js'
import { pyJsonDumps } from '../_utils/pyJson.js'
import { hashTokens } from '../grail/challenge.js'
import { decodeRandomness } from '../grail/randomness.js'

const COMMIT_DOMAIN = /*#__PURE__*/ utf8('grail-commit-v1')

/**
 * SHA-256 of the commitments list as CPython writes it with
 * `json.dumps(commitments, sort_keys=True, separators=(",", ":"))`, e.g. `[{"sketch":123}]`.
 *
 * - Spec: docs/protocol.md §3.5 (`commitments_hash`).
 * @param commitments - The wire commitment objects (or bare sketch integers).
 */
export function commitmentsHash(
  commitments: readonly ({ readonly sketch: number } | number)[],
): Uint8Array {
  const objs = commitments.map((c) => (typeof c === 'number' ? { sketch: c } : c))
  return sha256(utf8(pyJsonDumps(objs, { sortKeys: true })))
}

/** Parameters of {@link commitBindingDigest}. */
export type CommitBindingParameters = {
  tokens: ArrayLike<number>
  /** `commit.beacon.randomness` (hex). */
  randomness: string
  /** `commit.model.name` (signed, never compared). */
  modelName: string
  /** `commit.model.layer_index` (−1 for the last layer). */
  layerIndex: number
  commitments: readonly ({ readonly sketch: number } | number)[]
}

/**
 * The 32-byte digest a miner signs for each rollout:
 * `SHA256("grail-commit-v1" ‖ LP4(tokens_hash) ‖ LP4(randomness) ‖ LP4(model_name) ‖
 * LP4(BE32signed(layer_index)) ‖ LP4(commitments_hash))`.
 *
 * - Spec: docs/protocol.md §3.5 (`reliquary/protocol/signatures.py::build_commit_binding`).
 *
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a layer index outside int32; `INVALID_HEX`.
 * @example
 * ```ts
 * import { commitBindingDigest } from 'reliquary'
 * const digest = commitBindingDigest({ tokens, randomness, modelName: 'Qwen/Qwen3-4B-Instruct-2507', layerIndex: -1, commitments })
 * ```
 */
export function commitBindingDigest(p: CommitBindingParameters): Uint8Array {
  if (!Number.isInteger(p.layerIndex) || p.layerIndex < -0x80000000 || p.layerIndex > 0x7fffffff) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"layerIndex" must be an int32, received ${String(p.layerIndex)}.`,
    )
  }
  return sha256(
    concatBytes(
      COMMIT_DOMAIN,
      lp4(hashTokens(p.tokens)),
      lp4(decodeRandomness(p.randomness)),
      lp4(utf8(p.modelName)),
      lp4(be32Signed(p.layerIndex)),
      lp4(commitmentsHash(p.commitments)),
    ),
  )
}
