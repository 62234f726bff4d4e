import { describe, expect, it } from 'vitest'
import { baseRateForecasts, scoreForecasts } from '../src/miner/calibration.js'

describe('scoreForecasts', () => {
  // Worked by hand: (0.8 − 1)² = 0.04, (0.4 − 0)² = 0.16, (0.5 − 1)² = 0.25, (0.1 − 0)² = 0.01;
  // log-loss −(ln 0.8 + ln 0.6 + ln 0.5 + ln 0.9) / 4 = (0.223144 + 0.510826 + 0.693147 + 0.105361) / 4.
  const forecasts = [
    { p: 0.8, y: true },
    { p: 0.4, y: false },
    { p: 0.5, y: true },
    { p: 0.1, y: false },
  ]

  it('computes Brier score, log-loss and the two rates', () => {
    const s = scoreForecasts(forecasts, { bins: 2 })
    expect(s.n).toBe(4)
    expect(s.brier).toBeCloseTo(0.115, 12)
    expect(s.logLoss).toBeCloseTo(1.532477 / 4, 6)
    expect(s.meanPredicted).toBeCloseTo(0.45, 12)
    expect(s.observedRate).toBe(0.5)
  })

  it('bins forecasts by predicted probability (the last bin includes 1)', () => {
    const s = scoreForecasts([...forecasts, { p: 1, y: true }], { bins: 2 })
    expect(s.bins).toHaveLength(2)
    expect(s.bins[0]).toMatchObject({ lo: 0, hi: 0.5, n: 2, observedRate: 0 })
    expect(s.bins[0]!.meanPredicted).toBeCloseTo(0.25, 12)
    expect(s.bins[1]).toMatchObject({ lo: 0.5, hi: 1, n: 3, observedRate: 1 })
    expect(s.bins[1]!.meanPredicted).toBeCloseTo(2.3 / 3, 12)
  })

  it('clamps log-loss at epsilon and leaves empty bins NaN', () => {
    const s = scoreForecasts([{ p: 0, y: true }], { bins: 4, epsilon: 0.01 })
    expect(s.logLoss).toBeCloseTo(-Math.log(0.01), 12)
    expect(s.brier).toBe(1)
    expect(s.bins[3]!.n).toBe(0)
    expect(s.bins[3]!.observedRate).toBeNaN()
  })

  it('rejects forecasts outside [0, 1] and non-boolean outcomes', () => {
    expect(() => scoreForecasts([{ p: 1.2, y: true }])).toThrow(/INVALID_ARGUMENT|probability/)
    expect(() => scoreForecasts([{ p: 0.2, y: 1 as unknown as boolean }])).toThrow(/boolean/)
    expect(() => scoreForecasts(forecasts, { bins: 0 })).toThrow(/positive integer/)
  })
})

describe('baseRateForecasts', () => {
  it('uses only the outcomes of earlier windows, Laplace-smoothed', () => {
    // Window 3: nothing before → 1/2 each. Window 5: 2 hits of 2 → 3/4. Window 7: 2 of 3 → 3/5.
    const p = baseRateForecasts([
      { windowN: 5, y: false },
      { windowN: 3, y: true },
      { windowN: 3, y: true },
      { windowN: 7, y: false },
    ])
    expect(p).toEqual([0.75, 0.5, 0.5, 0.6])
  })

  it('rejects a non-integer window', () => {
    expect(() => baseRateForecasts([{ windowN: 1.5, y: true }])).toThrow(/safe integer/)
  })
})
