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

/** One signer's submissions on one client: run one at a time, with the next nonce counted here. */
type KeyQueue = { tail: Promise<unknown>; next: number | null }
const queues = new WeakMap<ChainClient, Map<string, KeyQueue>>()

function queueOf(client: ChainClient, address: string): KeyQueue {
  let byKey = queues.get(client)
  if (!byKey) {
    byKey = new Map()
    queues.set(client, byKey)
  }
  let q = byKey.get(address)
  if (!q) {
    q = { tail: Promise.resolve(), next: null }
    byKey.set(address, q)
  }
  return q
}

/**
 * The nonce of the next extrinsic: the node's next index, or one past the last nonce this client
 * saw included when that is higher (right after a block a node can still answer the old index).
 */
async function nextNonce(api: ApiPromise, address: string, q: KeyQueue): Promise<number> {
  const onChain = (await api.rpc.system.accountNextIndex(address)).toNumber()
  return Math.max(onChain, q.next ?? 0)
}

function send(
  api: ApiPromise,
  tx: SubmittableExtrinsic<'promise'>,
  hotkey: Hotkey,
  label: string,
  at: { nonce: number; finalized: boolean; onIncluded: () => void },
  onUnsub: (u: () => void) => void,
): Promise<SubmitExtrinsicReturnType> {
  const { finalized } = at
  return new Promise((resolve, reject) => {
    const done = (r: ISubmittableResult): void => {
      // Included, even with a dispatch error: the nonce is spent.
      at.onIncluded()
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
    tx.signAndSend(hotkey.address, { signer: hotkeySigner(api, hotkey), nonce: at.nonce }, (r) => {
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
 * Submissions signed by one hotkey on one client run one after the other, each with its own
 * nonce (the node's next index, or one past the last included one when the node still answers an
 * older index), so two quick writes from one key (`serve_axon` and `set_weights`) never race.
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
  const q = queueOf(client, hotkey.address)
  const run = async (): Promise<SubmitExtrinsicReturnType> => {
    let unsub: (() => void) | undefined
    let included = false
    try {
      return await client.write(
        label,
        async (api) => {
          const nonce = await nextNonce(api, hotkey.address, q)
          const onIncluded = (): void => {
            included = true
            q.next = nonce + 1
          }
          const finalized = options.waitForFinalization === true
          return send(api, build(api), hotkey, label, { nonce, finalized, onIncluded }, (u) => {
            unsub = u
          })
        },
        { timeoutMs: options.timeoutMs },
      )
    } catch (e) {
      // A timed-out extrinsic may still be pooled or dropped: trust the node's index again.
      if (!included && isReliquaryError(e, 'CHAIN_TIMEOUT')) q.next = null
      throw e
    } finally {
      try {
        unsub?.()
      } catch {
        /* the subscription dies with a dropped connection */
      }
    }
  }
  const out = q.tail.then(run, run)
  q.tail = out.catch(() => undefined)
  return out
}
