// Step 7 of the validator's window (src/validator/steps/scoreWindow.ts): the EMA of the window's
// emission shares (docs/protocol.md §8: ema ← α·share + (1 − α)·ema, α = 2/73 in E3).
import { describe, expect, test } from 'vitest'
import { scoreWindow } from '../../src/validator/steps/scoreWindow.js'
import { harness } from './_fakes.js'

describe('scoreWindow', () => {
  test('folds the shares into the EMA; absent hotkeys decay', () => {
    const h = harness()
    const alpha = 2 / 73
    expect(h.profile.scoring.emaAlpha).toBe(alpha)
    scoreWindow(h.state, h.ctx, new Map([['alice', 0.5]]))
    expect(h.state.ema.get('alice')).toBeCloseTo(alpha * 0.5, 15)
    scoreWindow(
      h.state,
      h.ctx,
      new Map([
        ['alice', 0],
        ['bob', 0.25],
      ]),
    )
    expect(h.state.ema.get('alice')).toBeCloseTo((1 - alpha) * alpha * 0.5, 15)
    expect(h.state.ema.get('bob')).toBeCloseTo(alpha * 0.25, 15)
  })
})
