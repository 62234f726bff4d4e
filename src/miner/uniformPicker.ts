// The baseline prompt picker: uniform over the eligible prompts.
import { checkIdx, checkOutcome, checkRewards, PickerCore } from './_pickerCore.js'
import type { GroupOutcome, PickContext, PickerOptions, PromptPicker } from './promptPicker.js'

/**
 * The baseline {@link PromptPicker}: uniformly random eligible prompts (not in cooldown, not in
 * flight), ignoring outcomes. Seedable and deterministic.
 *
 * @param options - {@link PickerOptions}
 * @returns A picker.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options; its methods for bad arguments.
 * @example
 * ```ts
 * const picker = uniformPicker({ size: 100, seed: 1 })
 * const [p] = picker.pickPrompts(1)
 * picker.observe(p!, [1, 0, 0, 1, 0, 0, 0, 0])
 * ```
 */
export function uniformPicker(options: PickerOptions): PromptPicker {
  const core = new PickerCore(options)
  return Object.freeze({
    pickPrompts(n: number, context: PickContext = {}): number[] {
      const ok = core.eligibility(n, context)
      return core.flyAll(core.uniform(n, ok))
    },
    observe(promptIdx: number, rewards: readonly number[], outcome: GroupOutcome = {}): void {
      checkIdx(promptIdx, core.size)
      checkRewards(rewards)
      checkOutcome(outcome)
      core.flying.delete(promptIdx)
    },
    release(promptIdx: number): void {
      checkIdx(promptIdx, core.size)
      core.flying.delete(promptIdx)
    },
    inFlight: () => core.inFlight(),
  })
}
