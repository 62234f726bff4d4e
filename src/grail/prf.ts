import { shake256 } from '@noble/hashes/sha3'
import { ReliquaryError } from '../errors/base.js'
import { be32, utf8 } from '../_utils/bytes.js'

/** PRF output bound of the reference (`0 ≤ out_bytes ≤ 65536`). */
export const PRF_MAX_OUT_BYTES = 65_536

/** PRF labels used by GRAIL (`RNG_LABEL` of the reference). */
export const PRF_LABELS = Object.freeze({ sketch: 'sketch', open: 'open', sat: 'sat' } as const)

/**
 * The GRAIL PRF: SHAKE-256 over `LP4(label) ‖ LP4(part_1) ‖ …`, first `outBytes` bytes of the XOF.
 * `LP4(b)` is the 4-byte big-endian length of `b` followed by `b`.
 *
 * - Spec: docs/protocol.md §1.1 (`reliquary/protocol/crypto.py::prf`).
 *
 * @param label - Domain label, as bytes or a UTF-8 string (`"sketch"`, `"open"`).
 * @param parts - Input parts, each bytes.
 * @param outBytes - Output length in bytes, 0 to 65536.
 * @returns `outBytes` bytes.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `outBytes` is out of range or a part is not bytes.
 * @example
 * ```ts
 * import { prf } from 'reliquary'
 * prf('sketch', [new Uint8Array(32)], 32)
 * ```
 */
export function prf(
  label: Uint8Array | string,
  parts: readonly Uint8Array[],
  outBytes: number,
): Uint8Array {
  if (!Number.isInteger(outBytes) || outBytes < 0 || outBytes > PRF_MAX_OUT_BYTES) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"outBytes" expected an integer in [0, ${PRF_MAX_OUT_BYTES}], received ${String(outBytes)}.`,
    )
  }
  if (outBytes === 0) return new Uint8Array(0)
  const labelBytes = typeof label === 'string' ? utf8(label) : label
  const h = shake256.create({ dkLen: outBytes })
  h.update(be32(labelBytes.length)).update(labelBytes)
  for (const p of parts) {
    if (!(p instanceof Uint8Array))
      throw new ReliquaryError('INVALID_ARGUMENT', '"parts" must all be Uint8Array.')
    h.update(be32(p.length)).update(p)
  }
  return h.digest()
}
