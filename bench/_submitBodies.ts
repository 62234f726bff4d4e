// The e3 `/submit` bodies the validator benches post: 8 rollouts of 44 tokens with real GRAIL
// commits (test/_admission.ts's buildBody), signed by a small set of hotkeys, each body distinct
// (its own salt and nonce), ~15 KB of JSON each. Shared by bench/validator-latency.ts and
// bench/submit-stages.ts so both time the same bodies.
import { createHotkey } from '../src/crypto/sr25519.js'
import { ENV_SIZE, buildBody } from '../test/_admission.js'

/** Which bodies: `n` of them, by `keys` hotkeys derived from `//bench/<keyPath><i>`. */
export type SubmitBodiesOptions = {
  n: number
  /** Hotkeys signing them, in turn. @default 25 */
  keys?: number
  /** Derivation path segment between `//bench/` and the key's index. @default '' */
  keyPath?: string
  /** Added to each body's index for its completion tokens' salt. @default 0 */
  saltBase?: number
  /** Before each body's index in its nonce. @default 'b' */
  noncePrefix?: string
  /** The window the bodies name. @default test/_admission.ts's window */
  windowStart?: number
}

/**
 * `n` distinct signed e3 bodies as JSON text, in order (body `i`: hotkey `i % keys`, prompt
 * `i % ENV_SIZE`, salt `saltBase + i`, nonce `noncePrefix + i`).
 */
export async function submitBodies(o: SubmitBodiesOptions): Promise<string[]> {
  const { n, keys: k = 25, keyPath = '', saltBase = 0, noncePrefix = 'b', windowStart } = o
  const keys = await Promise.all(
    Array.from({ length: k }, (_, i) => createHotkey(`//bench/${keyPath}${i}`)),
  )
  return Promise.all(
    Array.from({ length: n }, async (_, i) =>
      JSON.stringify(
        await buildBody({
          hotkey: keys[i % keys.length]!,
          promptIdx: i % ENV_SIZE,
          salt: saltBase + i,
          nonce: `${noncePrefix}${i}`,
          prove: true,
          ...(windowStart === undefined ? {} : { windowStart }),
        }),
      ),
    ),
  )
}
