import { join } from 'node:path'
import { createHotkey, type Hotkey } from '../crypto/sr25519.js'
import {
  createValidator,
  type CreateValidatorParameters,
  type Validator,
} from '../validator/createValidator.js'
import { DEMO_DEFAULTS } from './demoOptions.js'
import type { DemoContext } from './demoContext.js'
import { logValidatorEvent } from './logValidatorEvent.js'

/**
 * The demo's E3 validator on the local drand chain, publishing to the local Hub, with its
 * archives under `{workDir}/validator`; its hotkey derives from the seed. With `demo --chain`,
 * admission checks registration against `registry`.
 * @internal
 */
export async function startDemoValidator(
  ctx: DemoContext,
  registry?: CreateValidatorParameters['registry'],
): Promise<{ validator: Validator; validatorHotkey: string; key: Hotkey }> {
  const key = await createHotkey(`//reliquary-demo/${ctx.config.seed}/validator`)
  const validator = await createValidator({
    profile: ctx.profile,
    modelDir: ctx.modelDir,
    environment: ctx.environment,
    tokenizer: ctx.tokenizer,
    hotkey: key,
    beacons: ctx.chain,
    hub: { hubUrl: ctx.hub.url, repoId: DEMO_DEFAULTS.repoId, accessToken: ctx.hub.token },
    archiveDir: join(ctx.workDir, 'validator'),
    onEvent: (e) => logValidatorEvent(ctx, e),
    ...(registry ? { registry } : {}),
  })
  return { validator, validatorHotkey: key.address, key }
}
