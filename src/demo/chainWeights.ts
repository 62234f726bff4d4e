// The weights a `demo --chain` run read back from the chain, beside the EMA: the summary lines
// and the report's section. Pure (no chain client here), so the report renders anywhere.
import { esc } from './_reportCharts.js'

/** One destination uid of the validator's last `set_weights`. */
export type DemoChainWeightRow = {
  /** The uid on the demo subnet. */
  readonly uid: number
  /** Who holds it (a miner's label, or the validator, which is also the burn uid). */
  readonly label: string
  /** The hotkey at that uid. */
  readonly hotkey: string
  /** The validator's EMA for that hotkey (`null` for the burn uid when no miner's hotkey holds it). */
  readonly ema: number | null
  /** The u16 weight the SDK sent (`emaToWeights`). */
  readonly sent: number
  /** The weight read back from `SubtensorModule.Weights` after the extrinsic (`null`: absent). */
  readonly stored: number | null
}

/** What `reliquary demo --chain` reports about the chain: the last weights, sent and read back. */
export type DemoChainWeights = {
  /** The demo subnet. */
  readonly netuid: number
  /** The validator's uid (its row of `Weights`). */
  readonly validatorUid: number
  /** The head block when the weights were read back. */
  readonly block: number
  /** The runtime's `spec_version`. */
  readonly specVersion: number
  /** Successful `set_weights` extrinsics during the run (one per epoch at most). */
  readonly sets: number
  /** One row per uid of the last submission, uids ascending. */
  readonly rows: readonly DemoChainWeightRow[]
  /**
   * Whether the stored row is what the runtime makes of the vector sent: the same vector
   * (current runtimes) or renormalised to sum 65535, rounding down (spec 103, the genesis runtime).
   */
  readonly matches: boolean
}

/**
 * What a runtime stores for a u16 vector: spec 103 renormalises to sum 65535 (floor); later
 * runtimes store the SDK's max-upscaled vector as sent.
 * @internal
 */
export function storedBySpec(sent: readonly number[], specVersion: number): number[] {
  if (specVersion > 103) return [...sent]
  const sum = sent.reduce((a, b) => a + BigInt(b), 0n)
  return sent.map((w) => (sum === 0n ? 0 : Number((BigInt(w) * 65_535n) / sum)))
}

const fmtEma = (x: number | null): string => (x === null ? '–' : x.toFixed(6))

/**
 * The summary lines: per uid the EMA, the u16 sent and the u16 read back from the chain.
 * @internal
 */
export function formatChainWeights(c: DemoChainWeights): string[] {
  const head = `  weights on chain (netuid ${c.netuid}, validator uid ${c.validatorUid}, read back at block ${c.block}, runtime spec ${c.specVersion}; ${c.sets} set_weights in the run):`
  const rows = c.rows.map(
    (r) =>
      `    uid ${String(r.uid).padEnd(4)}${r.label.padEnd(24)}EMA ${fmtEma(r.ema).padStart(9)}   u16 sent ${String(r.sent).padStart(5)}   on chain ${String(r.stored ?? '–').padStart(5)}`,
  )
  const verdict = c.matches
    ? '    the stored row is the vector sent, as the runtime stores it'
    : '    MISMATCH: the stored row is not what the runtime makes of the vector sent'
  return ['', head, ...rows, verdict]
}

/**
 * The report's "Weights on chain" section (nothing when the run had no chain).
 * @internal
 */
export function chainWeightsSection(c: DemoChainWeights | undefined): string[] {
  if (!c) return []
  return [
    '<h2>Weights on chain</h2>',
    `<p class="muted">netuid ${c.netuid} · validator uid ${c.validatorUid} · read back at block ${c.block} · runtime spec ${c.specVersion} · ${c.sets} set_weights · ${c.matches ? 'stored as sent (after the runtime’s normalisation)' : 'MISMATCH with the vector sent'}</p>`,
    '<table><thead><tr><th>uid</th><th>holder</th><th>EMA weight</th><th>u16 sent</th><th>u16 on chain</th></tr></thead><tbody>',
    ...c.rows.map(
      (r) =>
        `<tr><td>${r.uid}</td><td>${esc(r.label)}</td><td>${fmtEma(r.ema)}</td><td>${r.sent}</td><td>${r.stored ?? '–'}</td></tr>`,
    ),
    '</tbody></table>',
  ]
}
