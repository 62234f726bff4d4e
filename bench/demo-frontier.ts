// Why does the demo's frontier miner earn what it earns? Runs the demo (threads, default miners)
// for several seeds and explains every honest miner's window from both sides: the miner's own
// `group_timing` entries (time picking, generating, proving, submitting; the drand round each
// group signed) and the validator's window archives (batch, runners-up, rejects, late drops).
//
//   npx tsx bench/demo-frontier.ts [--seeds 0,1,2] [--windows 12] [--per-window] [--json FILE]
//   npx tsx bench/demo-frontier.ts --analyze FILE[,FILE…]   (calibration and weights of saved runs)
//
// Per miner it prints, summed over the seeds: EMA weight (mean), won slots (Σ share × B), groups
// generated / submitted / accepted, acceptance, mean σ of the submitted groups, where the time
// went, the signed round relative to the window's trigger round (the round of the batch's last
// prompt), and every submitted group that did not win, by reason: `late` (batch_filled),
// `cooldown`, `out_of_zone`, `prompt_taken` (valid, but its prompt was won by another miner's
// group in an earlier round or by tiebreak), `slot_taken` (valid, but the batch filled with
// prompts of earlier rounds), or the reject reason.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from './_args.js'
import { calibrationReplay, featureRanking, weightComparison } from './_frontierCalibration.js'
import { bundledModelDir } from '../src/demo/bundledModel.js'
import { parseTargetRule } from '../src/demo/environment.js'
import { loadDemoEnvironment } from '../src/demo/loadDemoEnvironment.js'
import { runDemo } from '../src/demo/runDemo.js'
import type { MinerLogEntry } from '../src/miner/types.js'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    windows: { type: 'string', default: '12' },
    'per-window': { type: 'boolean', default: false },
    json: { type: 'string' },
    analyze: { type: 'string' },
  },
})
if (values.analyze !== undefined) {
  const runs = await Promise.all(
    values.analyze.split(',').map(async (f) => JSON.parse(await readFile(f, 'utf8'))),
  )
  console.log(
    [
      ...weightComparison(runs.flatMap((r) => r.weights)),
      '',
      ...calibrationReplay(
        runs.flatMap((r) => r.groups),
        Object.assign({}, ...runs.map((r) => r.features)),
      ),
      ...featureRanking(
        runs.flatMap((r) => r.groups),
        Object.assign({}, ...runs.map((r) => r.features)),
      ),
    ].join('\n'),
  )
  process.exit(0)
}
const seeds = values.seeds.split(',').map(Number)
const windows = Number(values.windows)

type Timing = {
  windowN: number
  promptIdx: number
  rewards: number[]
  predicted: number | null
  skipped: string | null
  sigma: number
  merkleRoot: string | null
  drandRound: number | null
  response: string | null
  pickMs: number
  generateMs: number
  proveMs: number
  submitMs: number
  sentAt: number
}

type MinerWindowRow = {
  seed: number
  miner: string
  windowN: number
  generated: number
  submitted: number
  accepted: number
  wonSlots: number
  share: number
  sigmaSum: number
  /** Groups generated but not submitted, by the miner's skip reason. */
  skipped: Record<string, number>
  ms: { pick: number; generate: number; prove: number; submit: number }
  /** Signed round − trigger round, per submitted group. */
  roundDelta: number[]
  lost: Record<string, number>
}

const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? '?'}, node ${process.version}`
const rows: MinerWindowRow[] = []
const weights: { seed: number; miner: string; ema: number }[] = []
/** Every generated group, in the order each miner generated them (for the calibration replay). */
const groups: (Pick<Timing, 'windowN' | 'promptIdx' | 'rewards' | 'predicted' | 'skipped'> & {
  seed: number
  miner: string
})[] = []
/** Per seed, the prompt features a miner reads from its environment: [targets, search window]. */
const features: Record<number, [number, number][]> = {}
const started = performance.now()
const loadBefore = loadavg()

for (const seed of seeds) {
  const timings = new Map<string, Timing[]>()
  const verdicts = new Map<string, string>()
  const onMinerLog = (miner: string, e: MinerLogEntry): void => {
    const d = e.data ?? {}
    if (e.event === 'group_timing') {
      const list = timings.get(miner) ?? []
      list.push(d as unknown as Timing)
      timings.set(miner, list)
    } else if (e.event === 'verdict')
      verdicts.set(`${miner}|${d.windowN}|${d.promptIdx}`, String(d.reason))
  }
  const { environment } = await loadDemoEnvironment(bundledModelDir(), { seed, size: 256 })
  features[seed] = Array.from({ length: environment.size }, (_, i) => {
    const rule = parseTargetRule(environment.getProblem(i).groundTruth)
    return [rule.targets.length, rule.window]
  })
  const workDir = await mkdtemp(join(tmpdir(), 'reliquary-frontier-'))
  const t0 = performance.now()
  const result = await runDemo({
    seed,
    windows,
    out: null,
    workDir,
    // Progress on stderr: one line per sealed window.
    log: (l) => {
      if (/^ {2}w\d+ sealed/.test(l)) console.error(`seed ${seed}${l}`)
    },
    onMinerLog,
  })
  const seconds = (performance.now() - t0) / 1000
  const batchSize = result.profile.group.batchSize
  const honest = result.miners.filter((m) => m.kind !== 'cheater')
  for (const m of honest) weights.push({ seed, miner: m.label, ema: m.emaWeight })
  for (const [miner, list] of timings)
    for (const t of list) {
      const { windowN, promptIdx, rewards, predicted, skipped } = t
      groups.push({ seed, miner, windowN, promptIdx, rewards, predicted, skipped })
    }
  for (const report of result.reports) {
    const archive = await decodeWindowArchive(await readFile(report.archivePath))
    const w = report.windowN
    const wonBy = new Map(archive.batch.map((b) => [b.prompt_idx, b]))
    const batchRoots = new Set(archive.batch.map((b) => b.merkle_root))
    const all = [...timings.values()].flat().filter((t) => t.windowN === w)
    const winRounds = all
      .filter((t) => t.merkleRoot !== null && batchRoots.has(t.merkleRoot.toLowerCase()))
      .map((t) => t.drandRound ?? 0)
    const trigger = winRounds.length ? Math.max(...winRounds) : null
    const validRoots = new Set(
      [...archive.batch, ...archive.runners_up].map((s) => s.merkle_root.toLowerCase()),
    )
    for (const m of honest) {
      const mine = (timings.get(m.label) ?? []).filter((t) => t.windowN === w)
      const share = report.rewardsByHotkey[m.hotkey] ?? 0
      const row: MinerWindowRow = {
        seed,
        miner: m.label,
        windowN: w,
        generated: mine.length,
        submitted: 0,
        accepted: 0,
        wonSlots: share * batchSize,
        share,
        sigmaSum: 0,
        skipped: {},
        ms: { pick: 0, generate: 0, prove: 0, submit: 0 },
        roundDelta: [],
        lost: {},
      }
      for (const t of mine) {
        row.ms.pick += t.pickMs
        row.ms.generate += t.generateMs
        row.ms.prove += t.proveMs
        row.ms.submit += t.submitMs
        if (t.skipped !== null || t.response === null) {
          const why = t.skipped ?? 'aborted'
          row.skipped[why] = (row.skipped[why] ?? 0) + 1
          continue
        }
        row.submitted++
        row.sigmaSum += t.sigma
        if (trigger !== null && t.drandRound !== null) row.roundDelta.push(t.drandRound - trigger)
        const root = t.merkleRoot?.toLowerCase() ?? ''
        const archived = archive.rejected.find(
          (r) => r.hotkey === m.hotkey && r.prompt_idx === t.promptIdx,
        )?.reason
        const late = Object.keys(archive.late_drops[m.hotkey] ?? {})[0]
        const reason =
          t.response !== 'submitted'
            ? t.response
            : (verdicts.get(`${m.label}|${w}|${t.promptIdx}`) ??
              archived ??
              (late ? `late:${late}` : 'no_verdict'))
        if (validRoots.has(root)) {
          row.accepted++
          if (batchRoots.has(root)) continue
          const winner = wonBy.get(t.promptIdx)
          if (winner && winner.hotkey === m.hotkey) continue
          // A shared prompt (same round, several submitters) still pays this miner a part.
          const why = winner ? 'prompt_taken' : 'slot_taken'
          row.lost[why] = (row.lost[why] ?? 0) + 1
        } else {
          const why =
            reason === 'batch_filled'
              ? 'late'
              : reason === 'prompt_in_cooldown'
                ? 'cooldown'
                : reason
          row.lost[why] = (row.lost[why] ?? 0) + 1
        }
      }
      rows.push(row)
    }
  }
  await rm(workDir, { recursive: true, force: true })
  const ema = honest.map((m) => `${m.label} ${m.emaWeight.toFixed(4)}`).join(' · ')
  console.error(`seed ${seed}: ${result.reports.length} windows in ${seconds.toFixed(1)} s; ${ema}`)
}

const loadAfter = loadavg()
const fmt = (x: number, d = 1): string => x.toFixed(d)
const miners = [...new Set(rows.map((r) => r.miner))]
const sum = (rs: MinerWindowRow[], f: (r: MinerWindowRow) => number): number =>
  rs.reduce((a, r) => a + f(r), 0)

function line(label: string, rs: MinerWindowRow[], ema: number | null): string {
  const submitted = sum(rs, (r) => r.submitted)
  const accepted = sum(rs, (r) => r.accepted)
  const generated = sum(rs, (r) => r.generated)
  const deltas = rs.flatMap((r) => r.roundDelta)
  const lost: Record<string, number> = {}
  const skipped: Record<string, number> = {}
  for (const r of rs) {
    for (const [k, v] of Object.entries(r.lost)) lost[k] = (lost[k] ?? 0) + v
    for (const [k, v] of Object.entries(r.skipped)) skipped[k] = (skipped[k] ?? 0) + v
  }
  const list = (o: Record<string, number>): string =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || '–'
  const perGroup = (f: (r: MinerWindowRow) => number): string =>
    generated ? fmt(sum(rs, f) / generated, 0) : '–'
  return [
    label,
    ema === null ? '' : fmt(ema, 4),
    fmt(
      sum(rs, (r) => r.wonSlots),
      2,
    ),
    `${generated}/${submitted}/${accepted}`,
    submitted ? `${fmt((100 * accepted) / submitted)}%` : '–',
    submitted ? fmt(sum(rs, (r) => r.sigmaSum) / submitted, 3) : '–',
    `${perGroup((r) => r.ms.pick)}/${perGroup((r) => r.ms.generate)}/${perGroup((r) => r.ms.prove)}/${perGroup((r) => r.ms.submit)}`,
    deltas.length ? fmt(deltas.reduce((a, b) => a + b, 0) / deltas.length, 2) : '–',
    list(lost),
    list(skipped),
  ].join(' | ')
}

const header =
  '| miner | EMA weight (mean) | won slots | generated/submitted/accepted | acceptance | mean σ | ms per group: pick/generate/prove/submit | signed round − trigger (mean) | submitted, not won | generated, not submitted |'
const out: string[] = [
  `demo-frontier: seeds ${seeds.join(',')} × ${windows} windows · ${machine} · load ${loadBefore.map((x) => fmt(x, 2)).join(' ')} → ${loadAfter.map((x) => fmt(x, 2)).join(' ')} · ${fmt((performance.now() - started) / 1000)} s`,
  '',
  header,
  `|${'---|'.repeat(10)}`,
]
for (const m of miners) {
  const ws = weights.filter((x) => x.miner === m)
  const ema = ws.reduce((a, x) => a + x.ema, 0) / Math.max(1, ws.length)
  out.push(
    `| ${line(
      m,
      rows.filter((r) => r.miner === m),
      ema,
    )} |`,
  )
}
out.push('', 'per seed (EMA weight · won slots):')
for (const seed of seeds) {
  const parts = miners.map((m) => {
    const ema = weights.find((x) => x.seed === seed && x.miner === m)?.ema ?? 0
    const won = sum(
      rows.filter((r) => r.seed === seed && r.miner === m),
      (r) => r.wonSlots,
    )
    return `${m} ${fmt(ema, 4)} · ${fmt(won, 2)}`
  })
  out.push(`  seed ${seed}: ${parts.join('   ')}`)
}
if (values['per-window']) {
  out.push('', header, `|${'---|'.repeat(10)}`)
  for (const r of rows) out.push(`| ${line(`s${r.seed} w${r.windowN} ${r.miner}`, [r], null)} |`)
}
out.push('', ...weightComparison(weights), '', ...calibrationReplay(groups, features))
console.log(out.join('\n'))
if (values.json)
  await writeFile(
    values.json,
    JSON.stringify({ machine, seeds, windows, weights, rows, groups, features }),
  )
