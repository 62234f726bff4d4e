import { describeError } from '../_utils/describeError.js'
import { sleep } from '../_utils/sleep.js'
import { drandRoundAt, drandRoundTime } from '../drand/round.js'
import { parseSubmitResponse } from '../protocol/schemas.js'
import { wireCheckpointHash, type MinerContext } from './minerContext.js'
import type { MinerWindow } from './planWindow.js'
import { buildSubmitRequest, type SubmissionRollout } from './submission.js'
import type { GroupRecord } from './types.js'

/**
 * Step 4 of a miner's window: signs and posts one group to `/submit` (merkle root, the wire
 * `checkpoint_hash`, the drand round current at send time, a random nonce, the envelope
 * signature) and records the answer on `g`: `submitted` leaves it pending until its worker
 * verdict, any other answer is final. A transport failure is a final `network_error`.
 *
 * - Spec: docs/protocol.md §3.1, §4.3 handler steps.
 * @internal
 * @throws the signal's reason when aborted; `SCHEMA_INVALID` / `JSON_INVALID` for a malformed 200 answer.
 */
export async function submitGroup(
  ctx: MinerContext,
  g: GroupRecord,
  window: MinerWindow,
  rollouts: SubmissionRollout[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const drandRound = await drandRoundToSign(ctx, signal)
  const body = buildSubmitRequest({
    hotkey: ctx.config.hotkey,
    windowStart: window.windowN,
    promptIdx: g.promptIdx,
    rollouts,
    checkpointHash: wireCheckpointHash(ctx.state),
    drandRound,
    randomness: window.state.randomness,
  })
  g.merkleRoot = body.merkle_root
  g.drandRound = drandRound
  ctx.ledger.countSubmitted(window.windowN)
  let res: { status: number; text: string }
  try {
    res = await ctx.http.request('POST', '/submit', JSON.stringify(body), signal)
  } catch (e) {
    if (signal?.aborted) throw signal.reason
    g.response = { httpStatus: 0, accepted: false, reason: 'network_error' }
    ctx.ledger.settle(g, false, 'network_error')
    ctx.log('warn', 'submit_failed', `POST /submit failed for prompt ${g.promptIdx}`, {
      error: describeError(e),
    })
    return
  }
  if (res.status === 200) {
    const r = parseSubmitResponse(res.text)
    g.response = { httpStatus: 200, accepted: r.accepted, reason: r.reason }
    if (r.accepted && r.reason === 'submitted') ctx.ledger.markPending(g, body.merkle_root)
    else ctx.ledger.settle(g, r.accepted, r.reason)
  } else {
    const reason = reasonForSubmitStatus(res.status, res.text)
    g.response = { httpStatus: res.status, accepted: false, reason }
    ctx.ledger.settle(g, false, reason)
  }
  ctx.log('info', 'group_submitted', `prompt ${g.promptIdx} (${g.kind}) → ${g.response.reason}`, {
    windowN: window.windowN,
    promptIdx: g.promptIdx,
    kind: g.kind,
    merkleRoot: body.merkle_root,
    drandRound,
    response: g.response,
  })
}

/**
 * The reject reason a non-200 answer of `/submit` stands for. The reference answers these
 * without a body of the usual shape; a 503 is `queue_full` when its `{"detail"}` says so (the
 * admission queue is full) and `window_not_active` otherwise.
 * @internal
 */
export function reasonForSubmitStatus(status: number, text: string): string {
  if (status === 409) return 'window_mismatch'
  if (status === 503) return detailOf(text) === 'queue_full' ? 'queue_full' : 'window_not_active'
  if (status === 422) return 'bad_schema'
  return `http_${status}`
}

function detailOf(text: string): unknown {
  try {
    const body: unknown = JSON.parse(text)
    return typeof body === 'object' && body !== null
      ? (body as { detail?: unknown }).detail
      : undefined
  } catch {
    return undefined
  }
}

/**
 * The drand round to sign, waiting for the next round when fewer than `roundMarginSeconds` are
 * left in the current one: the validator stamps the round at arrival with tolerance 0.
 * @internal
 */
export async function drandRoundToSign(
  ctx: MinerContext,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { now, drand, roundMarginSeconds } = ctx.config
  let t = now()
  for (let tries = 0; tries < 2; tries++) {
    const round = drandRoundAt(t, drand)
    const left = drandRoundTime(round + 1, drand) - t
    if (left >= roundMarginSeconds) return round
    await sleep(left * 1000 + 5, signal)
    t = now()
  }
  return drandRoundAt(t, drand)
}
