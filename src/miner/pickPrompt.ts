import type { MinerContext } from './minerContext.js'
import type { MinerWindow } from './planWindow.js'

/**
 * Step 2 of a miner's window: asks the picker for one prompt outside the cooldown and not yet
 * tried in this window (a second group on a prompt already tried adds no distinct prompt to a
 * batch), and marks it tried. Returns undefined, with a log line, when nothing is eligible.
 * @internal
 */
export function pickPrompt(ctx: MinerContext, window: MinerWindow): number | undefined {
  const { state } = ctx
  if (state.tried.windowN !== window.windowN)
    state.tried = { windowN: window.windowN, prompts: new Set() }
  const tried = state.tried.prompts
  const [promptIdx] = ctx.config.picker.pickPrompts(1, {
    exclude: tried.size ? [...window.cooldown, ...tried] : window.cooldown,
  })
  if (promptIdx === undefined) {
    ctx.log('warn', 'no_prompt', 'the picker has no eligible prompt left')
    return undefined
  }
  tried.add(promptIdx)
  return promptIdx
}
