// Per-hotkey counts of the validator (src/validator/submissionTally.ts): life totals, and the
// current window's counts for its report; worker verdicts count for the window they were queued in.
import { describe, expect, test } from 'vitest'
import type { SubmissionEvent } from '../../src/validator/http/createValidatorServer.js'
import { SubmissionTally } from '../../src/validator/submissionTally.js'

const event = (e: Partial<SubmissionEvent>): SubmissionEvent => ({
  stage: 'handler',
  hotkey: 'alice',
  windowStart: 5,
  status: 200,
  accepted: true,
  reason: 'submitted',
  verdict: null,
  ...e,
})

describe('SubmissionTally', () => {
  test('handler answers count as submitted, worker accepts as accepted, rejects by reason', () => {
    const t = new SubmissionTally(4)
    t.startWindow(5)
    expect(t.record(event({}), 5)).toBe(5)
    expect(t.record(event({ stage: 'worker', reason: 'accepted' }), 5)).toBe(5)
    t.record(event({ accepted: false, reason: 'rate_limited' }), 5)
    t.record(event({ hotkey: null, accepted: false, reason: 'bad_schema', status: 422 }), 5)
    expect(t.windowCounts()).toEqual({
      alice: { submitted: 2, accepted: 1, rejected: { rate_limited: 1 } },
      '(no hotkey)': { submitted: 1, accepted: 0, rejected: { bad_schema: 1 } },
    })
    expect(t.windowRejects()).toEqual({ rate_limited: 1, bad_schema: 1 })
    expect(t.totals()).toEqual(t.windowCounts())
  })

  test('a late worker verdict counts for its own window, not the open one', () => {
    const t = new SubmissionTally(4)
    t.startWindow(5)
    t.record(event({}), 5)
    t.startWindow(6)
    const w = t.record(
      event({ stage: 'worker', windowStart: 5, accepted: false, reason: 'worker_dropped' }),
      6,
    )
    expect(w).toBe(5)
    expect(t.windowCounts()).toEqual({})
    expect(t.windowRejects()).toEqual({})
    expect(t.totals()).toEqual({
      alice: { submitted: 1, accepted: 0, rejected: { worker_dropped: 1 } },
    })
  })

  test('the copies it returns share nothing with its counters', () => {
    const t = new SubmissionTally(0)
    t.startWindow(1)
    t.record(event({ accepted: false, reason: 'stale_round' }), 1)
    t.totals().alice!.rejected.stale_round = 99
    t.windowCounts().alice!.submitted = 99
    expect(t.totals().alice).toEqual({ submitted: 1, accepted: 0, rejected: { stale_round: 1 } })
    expect(t.windowCounts().alice!.submitted).toBe(1)
  })
})
