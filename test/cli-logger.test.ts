// The services' logger (src/cli/_logger.ts): levels, JSON and human formats, and no secret in
// either, wherever it appears (message text, secret-named fields, effective options).
import { afterEach, expect, test } from 'vitest'
import { createCliLogger, serviceLogger } from '../src/cli/_logger.js'
import { parseCommand } from '../src/cli/_options.js'
import { cliProgress, formatBytes, formatDuration } from '../src/cli/_progress.js'
import type { TransferProgress } from '../src/hub/transferProgress.js'
import { MINER_COMMAND, VALIDATOR_COMMAND } from '../src/cli/networkOptions.js'

const MNEMONIC = 'legal winner thank year wave sausage worth useful legal winner thank yellow'
const SURI = `${MNEMONIC}//reliquary/validator`
const HF_TOKEN = 'hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345'
const savedToken = process.env.HF_TOKEN
afterEach(() => {
  if (savedToken === undefined) delete process.env.HF_TOKEN
  else process.env.HF_TOKEN = savedToken
})

test('json: one object per line with level, time and message; the level filters', () => {
  const lines: string[] = []
  const { logger } = createCliLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
  logger.debug('hidden')
  logger.info({ event: 'sealed', window: 3 }, 'window 3 sealed')
  logger.warn('careful')
  expect(lines).toHaveLength(2)
  const first = JSON.parse(lines[0]!)
  expect(first).toMatchObject({ level: 30, msg: 'window 3 sealed', event: 'sealed', window: 3 })
  expect(typeof first.time).toBe('number')
  expect(JSON.parse(lines[1]!)).toMatchObject({ level: 40, msg: 'careful' })
})

test('pretty: the message alone, as the CLI printed it before', () => {
  const lines: string[] = []
  const { logger } = createCliLogger({
    level: 'debug',
    format: 'pretty',
    write: (l) => lines.push(l),
  })
  logger.info({ event: 'open', window: 1 }, 'window 1 open · drand round 7 · checkpoint 0')
  logger.debug('details')
  logger.trace('not shown')
  expect(lines).toEqual(['window 1 open · drand round 7 · checkpoint 0', 'details'])
})

test('secrets never reach the output: seeds, mnemonics and tokens in messages and fields', () => {
  for (const format of ['json', 'pretty'] as const) {
    const lines: string[] = []
    const { logger, addSecret } = createCliLogger({
      level: 'trace',
      format,
      write: (l) => lines.push(l),
      secrets: [SURI, HF_TOKEN],
    })
    addSecret('local-hub-token-1234')
    logger.info(`hotkey from ${SURI}`)
    logger.info(`mnemonic ${MNEMONIC} alone`)
    logger.info({ token: 'x-unregistered-token', nested: { accessToken: 'y-nested' } }, 'fields')
    logger.error({ err: new Error(`bad token ${HF_TOKEN}`) }, `Authorization: Bearer ${HF_TOKEN}`)
    logger.info('local hub token local-hub-token-1234')
    const out = lines.join('\n')
    for (const secret of [
      MNEMONIC,
      HF_TOKEN,
      'x-unregistered-token',
      'y-nested',
      'local-hub-token-1234',
    ])
      expect(out, `${format}: ${secret}`).not.toContain(secret)
    expect(out).toContain('[redacted]')
  }
})

test('a service logger built from the options redacts the hotkey and HF_TOKEN, and logs the options at debug', () => {
  process.env.HF_TOKEN = HF_TOKEN
  const parsed = parseCommand(
    VALIDATOR_COMMAND,
    ['--log-level', 'debug', '--log-format', 'json', '--port', '0'],
    { RELIQUARY_HOTKEY: SURI },
  )
  const lines: string[] = []
  const { logger } = serviceLogger(VALIDATOR_COMMAND, parsed, (l) => lines.push(l))
  logger.info(`publishing with ${HF_TOKEN} as ${SURI}`)
  const out = lines.join('\n')
  expect(out).not.toContain(MNEMONIC)
  expect(out).not.toContain(HF_TOKEN)
  const options = JSON.parse(lines[0]!) as { msg: string; event: string }
  expect(options.event).toBe('options')
  expect(options.msg).toContain('hotkey=[redacted] (env)')
  expect(options.msg).toContain('port=0 (flag)')
  const quiet: string[] = []
  serviceLogger(MINER_COMMAND, parseCommand(MINER_COMMAND, ['--log-level', 'warn'], {}), (l) =>
    quiet.push(l),
  ).log('an info line')
  expect(quiet).toEqual([])
})

const report = (over: Partial<TransferProgress>): TransferProgress => ({
  direction: 'download',
  status: 'progress',
  file: 'model.safetensors',
  loaded: 0,
  total: 4 * 1024 * 1024,
  progress: 0,
  elapsedSeconds: 1,
  bytesPerSecond: 0,
  etaSeconds: null,
  ...over,
})

test('transfer progress: a bar redrawn in place on a terminal, a log line every few seconds otherwise', () => {
  const half = report({
    loaded: 2 * 1024 * 1024,
    progress: 50,
    bytesPerSecond: 1024 * 1024,
    etaSeconds: 2,
  })
  const done = report({
    status: 'done',
    file: null,
    loaded: 4 * 1024 * 1024,
    progress: 100,
    elapsedSeconds: 4,
    bytesPerSecond: 1024 * 1024,
    etaSeconds: 0,
  })
  const lines: string[] = []
  const { logger } = createCliLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) })
  const drawn: string[] = []
  const bar = cliProgress({ logger, tty: true, write: (s) => drawn.push(s) })
  bar(half)
  bar(done)
  expect(drawn[0]).toBe(
    '\r[############............] download 50% · 2.0 MiB of 4.0 MiB · 1.0 MiB/s · ETA 2 s\x1b[K',
  )
  expect(drawn[1]).toBe(
    `\r[${'#'.repeat(24)}] download done · 4.0 MiB of 4.0 MiB in 4 s · 1.0 MiB/s\x1b[K\n`,
  )
  expect(lines).toEqual([])

  let t = 0
  const plain = cliProgress({
    logger,
    tty: false,
    write: () => undefined,
    intervalMs: 5000,
    now: () => t,
  })
  plain(half)
  t = 1000
  plain(half) // within the interval: no line
  t = 6000
  plain(half)
  plain(done) // the end is always logged
  expect(lines.map((l) => JSON.parse(l).msg)).toEqual([
    'download 50% · 2.0 MiB of 4.0 MiB · 1.0 MiB/s · ETA 2 s',
    'download 50% · 2.0 MiB of 4.0 MiB · 1.0 MiB/s · ETA 2 s',
    'download done · 4.0 MiB of 4.0 MiB in 4 s · 1.0 MiB/s',
  ])
  expect(JSON.parse(lines[0]!)).toMatchObject({
    event: 'transfer_progress',
    loaded: 2 * 1024 * 1024,
    etaSeconds: 2,
  })
  expect([
    formatBytes(0),
    formatBytes(1536),
    formatDuration(3725),
    formatDuration(65),
    formatDuration(null),
  ]).toEqual(['0 B', '1.5 KiB', '1 h 02 min', '1 min 05 s', '?'])
})
