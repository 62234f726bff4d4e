import type { ApiPromise } from '@polkadot/api'
import type { SubmittableExtrinsic } from '@polkadot/api/types'
import type { ISubmittableResult, Signer, SignerPayloadJSON } from '@polkadot/types/types'
import { u8aConcat, u8aToHex } from '@polkadot/util'
import { blake2AsU8a } from '@polkadot/util-crypto'
import type { Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError, isReliquaryError } from '../errors/base.js'
import type { ChainClient } from './connectChain.js'
import { decodeChainError } from './decodeChainError.js'

/** One event of an included extrinsic, decoded. */
export type ChainEvent = {
  readonly section: string
  readonly method: string
  readonly data: unknown
}

/** Result of {@link submitExtrinsic}: the extrinsic was included and succeeded. */
export type SubmitExtrinsicReturnType = {
  readonly blockHash: string
  readonly events: readonly ChainEvent[]
}

/** Options of {@link submitExtrinsic}. */
export type SubmitExtrinsicOptions = {
  /** Wait for finality rather than inclusion. @default false (inclusion, as the Bittensor SDK's set_weights) */
  waitForFinalization?: boolean | undefined
  /** Budget. @default client.writeTimeoutMs */
  timeoutMs?: number | undefined
}

/**
 * A polkadot-js signer over a {@link Hotkey}: signs the SCALE payload (blake2-256 of it when longer
 * than 256 bytes, as substrate requires) and returns an sr25519 `MultiSignature`.
 * @internal
 */
export function hotkeySigner(api: ApiPromise, hotkey: Hotkey): Signer {
  return {
    signPayload: async (payload: SignerPayloadJSON) => {
      const raw = api.registry.createType('ExtrinsicPayload', payload, {
        version: payload.version,
      })
      let data = raw.toU8a({ method: true })
      if (data.length > 256) data = blake2AsU8a(data, 256)
      const signature = hotkey.sign(data)
      return { id: 1, signature: u8aToHex(u8aConcat(new Uint8Array([1]), signature)) }
    },
  }
}

function invalid(label: string, why: string, cause?: unknown): ReliquaryError {
  return new ReliquaryError(
    'CHAIN_EXTRINSIC_INVALID',
    `${label} was refused by the node: ${why.slice(0, 200)}.`,
    {
      hints: [
        'The account may lack funds for the fee, or its nonce is out of date (another submission from the same key is in flight).',
      ],
      cause,
    },
  )
}

function send(
  api: ApiPromise,
  tx: SubmittableExtrinsic<'promise'>,
  hotkey: Hotkey,
  label: string,
  finalized: boolean,
  onUnsub: (u: () => void) => void,
): Promise<SubmitExtrinsicReturnType> {
  return new Promise((resolve, reject) => {
    const done = (r: ISubmittableResult): void => {
      const events = r.events.map(({ event }) => ({
        section: event.section,
        method: event.method,
        data: event.data.toJSON(),
      }))
      if (r.dispatchError) reject(decodeChainError(api, r.dispatchError, label))
      else if (!events.some((e) => e.section === 'system' && e.method === 'ExtrinsicSuccess'))
        reject(invalid(label, 'no ExtrinsicSuccess event in its block'))
      else {
        const hash = r.status.isInBlock ? r.status.asInBlock : r.status.asFinalized
        resolve({ blockHash: hash.toHex(), events })
      }
    }
    tx.signAndSend(hotkey.address, { signer: hotkeySigner(api, hotkey), nonce: -1 }, (r) => {
      if (r.status.isFinalized || (!finalized && r.status.isInBlock)) done(r)
      else if (r.isError) reject(invalid(label, r.status.type))
    })
      .then(onUnsub)
      .catch((e: unknown) => {
        // RPC 1010 (invalid transaction) and friends: the node refused it before inclusion.
        reject(
          isReliquaryError(e) ? e : invalid(label, e instanceof Error ? e.message : String(e), e),
        )
      })
  })
}

/**
 * Signs `build(api)` with `hotkey`, submits it, waits for its inclusion (or finality), and reads
 * the outcome from the block's events: success only when `System.ExtrinsicSuccess` is there,
 * never assumed. Runs under the client's write timeout; a timeout drops the connection.
 *
 * @param client - {@link ChainClient}
 * @param hotkey - The signer (a validator hotkey for `set_weights` and `serve_axon`).
 * @param build - Builds the call from the live API (metadata-driven; no hand-encoded bytes).
 * @param label - Names the call in errors.
 * @param options - {@link SubmitExtrinsicOptions}
 * @returns The block hash and the extrinsic's events.
 * @throws {ReliquaryError} `CHAIN_MODULE_ERROR` (decoded), `CHAIN_EXTRINSIC_INVALID`,
 *   `CHAIN_TIMEOUT`, `CHAIN_UNAVAILABLE`.
 */
export async function submitExtrinsic(
  client: ChainClient,
  hotkey: Hotkey,
  build: (api: ApiPromise) => SubmittableExtrinsic<'promise'>,
  label: string,
  options: SubmitExtrinsicOptions = {},
): Promise<SubmitExtrinsicReturnType> {
  let unsub: (() => void) | undefined
  try {
    return await client.write(
      label,
      (api) =>
        send(api, build(api), hotkey, label, options.waitForFinalization === true, (u) => {
          unsub = u
        }),
      { timeoutMs: options.timeoutMs },
    )
  } finally {
    try {
      unsub?.()
    } catch {
      /* the subscription dies with a dropped connection */
    }
  }
}
