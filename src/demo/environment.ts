import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { createRng } from '../_utils/rng.js'
import type { Problem, RewardEnvironment } from '../reward/environment.js'
import { problemId } from '../reward/environment.js'

/**
 * The tokenizer surface {@link createTargetTokenEnvironment} needs to check that every prompt
 * survives the validator's re-encoding (a `ModelTokenizer` from `reliquary/model` fits).
 */
export type PromptTokenizer = {
  /** Text to ids, without special tokens (the protocol's `add_special_tokens=False`). */
  encode(text: string): number[]
  /** Ids to text. */
  decode(ids: readonly number[]): string
}

/** The verifiable rule of one target-token problem, as stored in `Problem.groundTruth` (JSON). */
export type TargetRule = {
  /** The target characters (distinct, printable ASCII). */
  readonly targets: string
  /** How many leading code points of the completion text are searched. */
  readonly window: number
}

/** Options of {@link createTargetTokenEnvironment}. */
export type CreateTargetTokenEnvironmentOptions = {
  /**
   * When given, every prompt is encoded and decoded at construction and must round-trip exactly
   * (`decode(encode(p)) === p` and `encode(decode(ids))` equal to `ids`), since the validator
   * re-encodes the prompt text and compares token ids.
   */
  tokenizer?: PromptTokenizer | undefined
  /** With `tokenizer`: every prompt token id must be below this (the model's embedding rows). */
  vocabSize?: number | undefined
  /** Seed of the problem set; the same options give the same problems. @default 0 */
  seed?: number | undefined
  /** Number of problems. @default 256 */
  size?: number | undefined
  /** Characters targets are drawn from (distinct printable ASCII). @default DEFAULT_TARGET_ALPHABET */
  alphabet?: string | undefined
  /** Fewest target characters of a problem (more targets make it easier). @default 2 */
  minTargets?: number | undefined
  /** Most target characters of a problem. @default 16 */
  maxTargets?: number | undefined
  /** Search windows (code points) drawn uniformly per problem. @default [8, 24, 64] */
  windows?: readonly number[] | undefined
  /** Environment id. @default 'target-token' */
  id?: string | undefined
}

/** Letters and digits: the default alphabet of target characters. */
export const DEFAULT_TARGET_ALPHABET =
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

/** Special-token markup (`<|endoftext|>`, `<|im_end|>`, …) that the default decode keeps. */
const SPECIAL_MARKUP = /<\|[A-Za-z0-9_]+\|>/g

function isPrintableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x21 || c > 0x7e) return false
  }
  return true
}

function checkRule(rule: unknown, param: string): TargetRule {
  const r = rule as { targets?: unknown; window?: unknown } | null
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.targets !== 'string' ||
    r.targets.length === 0 ||
    !isPrintableAscii(r.targets) ||
    new Set(r.targets).size !== r.targets.length ||
    !Number.isSafeInteger(r.window) ||
    (r.window as number) < 1
  ) {
    throw invalidArgument(
      param,
      'a target rule { targets: distinct printable ASCII, window: integer ≥ 1 }',
      rule,
    )
  }
  return Object.freeze({ targets: r.targets, window: r.window as number })
}

/**
 * Parses the rule of a target-token problem from its `groundTruth` (the JSON
 * `{"targets":…,"window":…}` that {@link createTargetTokenEnvironment} writes).
 *
 * @param groundTruth - `Problem.groundTruth` of a target-token problem.
 * @returns The frozen {@link TargetRule}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if it is not such a JSON rule.
 * @example
 * ```ts
 * parseTargetRule('{"targets":"aQ7","window":24}') // { targets: 'aQ7', window: 24 }
 * ```
 */
export function parseTargetRule(groundTruth: string): TargetRule {
  if (typeof groundTruth !== 'string')
    throw invalidArgument('groundTruth', 'a JSON target rule', groundTruth)
  let parsed: unknown
  try {
    parsed = JSON.parse(groundTruth)
  } catch {
    throw invalidArgument('groundTruth', 'a JSON target rule', groundTruth)
  }
  return checkRule(parsed, 'groundTruth')
}

/**
 * The reward of a completion under a target rule: 1 when one of `rule.targets` occurs among the
 * first `rule.window` code points of the completion text, else 0. Special-token markup such as
 * `<|endoftext|>` (kept by the protocol's default decode) is removed first, so an EOS token never
 * scores by itself. Pure and deterministic: the decoded text is the only input.
 *
 * @param rule - The problem's {@link TargetRule}.
 * @param completionText - The decoded completion (`decode(tokens[promptLength:])`).
 * @returns 0 or 1.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed rule or a non-string text.
 * @example
 * ```ts
 * targetReward({ targets: 'xy', window: 4 }, 'abcx') // 1
 * targetReward({ targets: 'xy', window: 3 }, 'abcx') // 0
 * ```
 */
export function targetReward(rule: TargetRule, completionText: string): number {
  const { targets, window } = checkRule(rule, 'rule')
  if (typeof completionText !== 'string')
    throw invalidArgument('completionText', 'a string', completionText)
  let seen = 0
  for (const ch of completionText.replace(SPECIAL_MARKUP, '')) {
    if (seen++ >= window) break
    if (targets.includes(ch)) return 1
  }
  return 0
}

/** A trailing run of U+FFFD (an incomplete UTF-8 sequence may still complete) or unterminated markup. */
const UNSETTLED_TAIL = /(?:\uFFFD+|<\|[A-Za-z0-9_]*\|?|<)$/

/**
 * Whether {@link targetReward} of every completion that starts with `completionText` is already
 * known: a target occurred within the window, or the window is full of settled characters. The
 * tail that later tokens could still change (replacement characters of an incomplete UTF-8
 * sequence, the start of special-token markup) does not count. Lets an evaluation stop sampling
 * early with the same reward as a full generation (`generate`'s `stopWhen`).
 *
 * @param rule - The problem's {@link TargetRule}.
 * @param completionText - The decoded completion so far.
 * @returns `true` when more tokens cannot change the reward.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed rule or a non-string text.
 * @example
 * ```ts
 * isTargetRewardDecided({ targets: 'x', window: 4 }, 'ab')    // false
 * isTargetRewardDecided({ targets: 'x', window: 4 }, 'abx')   // true (reward 1)
 * isTargetRewardDecided({ targets: 'x', window: 4 }, 'abcd')  // true (reward 0)
 * ```
 */
export function isTargetRewardDecided(rule: TargetRule, completionText: string): boolean {
  const { targets, window } = checkRule(rule, 'rule')
  if (typeof completionText !== 'string')
    throw invalidArgument('completionText', 'a string', completionText)
  const settled = completionText.replace(SPECIAL_MARKUP, '').replace(UNSETTLED_TAIL, '')
  let seen = 0
  for (const ch of settled) {
    if (seen++ >= window) return true
    if (targets.includes(ch)) return true
  }
  return seen >= window
}

/**
 * The prompt text of problem `index` with `rule` (short printable ASCII; the index makes every
 * prompt, hence every problem id, distinct).
 */
function promptText(index: number, rule: TargetRule): string {
  // No trailing ':' — the random tiny model tends to repeat a prompt's last token, and a colon
  // loop crowds every target out of short windows.
  return `#${index} say one of "${rule.targets}" within ${rule.window} chars`
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}

function checkRoundTrip(
  tokenizer: PromptTokenizer,
  prompt: string,
  vocabSize: number | undefined,
): void {
  const ids = tokenizer.encode(prompt)
  const text = tokenizer.decode(ids)
  if (text !== prompt || !sameIds(tokenizer.encode(text), ids)) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `Prompt ${JSON.stringify(prompt)} does not round-trip through the tokenizer.`,
      {
        hints: [
          'Use an alphabet of characters the tokenizer encodes and decodes losslessly (plain ASCII letters and digits).',
        ],
        meta: { param: 'tokenizer', prompt },
      },
    )
  }
  if (vocabSize !== undefined && ids.some((id) => id < 0 || id >= vocabSize)) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `Prompt ${JSON.stringify(prompt)} encodes to a token id ≥ vocabSize ${vocabSize}.`,
      {
        meta: { param: 'vocabSize', prompt },
      },
    )
  }
}

function positiveInt(v: unknown, param: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1)
    throw invalidArgument(param, 'a positive integer', v)
  return v as number
}

/**
 * A synthetic verifiable environment for `reliquary demo`, where math rewards are out of reach
 * of the bundled random tiny model. Problem `i` asks for one of a few target characters within
 * the first `window` code points of the completion; the reward is {@link targetReward} of the
 * rule stored as JSON in `groundTruth`, computed from the decoded completion text only.
 *
 * Difficulty is spread across problems by drawing the number of targets uniformly in
 * `[minTargets, maxTargets]` and the window from `windows`, so some prompts are always 0, some
 * always 1 and a fraction land in the zone. The defaults are tuned for
 * `test/fixtures/reference/qwen3-tiny-s0` sampled at T = 0.9 for 40 tokens (measured with
 * `bench/demo-environment.ts`); other models need other settings.
 *
 * - Spec: the {@link RewardEnvironment} contract of docs/protocol.md §6 (indices wrap modulo
 *   `size`, `id = sha256(prompt)[:16]`); the prompt is raw text encoded without special tokens (§2.4).
 *
 * @param options - {@link CreateTargetTokenEnvironmentOptions}
 * @returns A frozen {@link RewardEnvironment}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options, or when a `tokenizer` is given and
 *   a prompt does not round-trip or exceeds `vocabSize`; `getProblem` throws `INVALID_ARGUMENT`
 *   for a non-integer index, `computeReward` for a problem that is not a target-token problem.
 * @example
 * ```ts
 * // src/demo/environment.ts (no package entry point exports it yet)
 * const env = createTargetTokenEnvironment({ tokenizer, seed: 1, size: 64 })
 * const p = env.getProblem(0) // { prompt: '#0 say one of "…" within 24 chars', groundTruth: '{"targets":…}', id }
 * const { targets } = parseTargetRule(p.groundTruth)
 * env.computeReward(p, targets[0]!) // 1
 * env.computeReward(p, '')          // 0
 * ```
 */
export function createTargetTokenEnvironment(
  options: CreateTargetTokenEnvironmentOptions = {},
): RewardEnvironment {
  const {
    tokenizer,
    vocabSize,
    seed = 0,
    size = 256,
    alphabet = DEFAULT_TARGET_ALPHABET,
    minTargets = 2,
    maxTargets = 16,
    windows = [8, 24, 64],
    id = 'target-token',
  } = options
  if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed)
  positiveInt(size, 'size')
  if (vocabSize !== undefined) positiveInt(vocabSize, 'vocabSize')
  if (
    typeof alphabet !== 'string' ||
    alphabet.length === 0 ||
    !isPrintableAscii(alphabet) ||
    new Set(alphabet).size !== alphabet.length
  ) {
    throw invalidArgument('alphabet', 'distinct printable ASCII characters', alphabet)
  }
  positiveInt(minTargets, 'minTargets')
  positiveInt(maxTargets, 'maxTargets')
  if (minTargets > maxTargets || maxTargets > alphabet.length) {
    throw invalidArgument(
      'maxTargets',
      `an integer in [minTargets, alphabet.length] = [${minTargets}, ${alphabet.length}]`,
      maxTargets,
    )
  }
  if (!Array.isArray(windows) || windows.length === 0)
    throw invalidArgument('windows', 'a non-empty array of positive integers', windows)
  windows.forEach((w, i) => {
    positiveInt(w, `windows[${i}]`)
  })
  if (typeof id !== 'string' || id.length === 0)
    throw invalidArgument('id', 'a non-empty string', id)

  const rng = createRng(seed)
  const pick = (n: number): number => Math.floor(rng() * n)
  const rows: Problem[] = []
  for (let i = 0; i < size; i++) {
    const count = minTargets + pick(maxTargets - minTargets + 1)
    // Partial Fisher-Yates over the alphabet, then alphabet order for a readable prompt.
    const pool = [...alphabet]
    for (let j = 0; j < count; j++) {
      const k = j + pick(pool.length - j)
      ;[pool[j], pool[k]] = [pool[k]!, pool[j]!]
    }
    const chosen = new Set(pool.slice(0, count))
    const rule: TargetRule = {
      targets: [...alphabet].filter((c) => chosen.has(c)).join(''),
      window: windows[pick(windows.length)]!,
    }
    const prompt = promptText(i, rule)
    if (tokenizer) checkRoundTrip(tokenizer, prompt, vocabSize)
    rows.push(Object.freeze({ prompt, groundTruth: JSON.stringify(rule), id: problemId(prompt) }))
  }

  const rules = new Map<string, TargetRule>()
  const ruleOf = (problem: Problem): TargetRule => {
    if (typeof problem !== 'object' || problem === null)
      throw invalidArgument('problem', 'a Problem object', problem)
    let rule = rules.get(problem.groundTruth)
    if (!rule) {
      rule = parseTargetRule(problem.groundTruth)
      if (rules.size < 65_536) rules.set(problem.groundTruth, rule)
    }
    return rule
  }

  return Object.freeze({
    id,
    size,
    getProblem(index: number): Problem {
      if (!Number.isSafeInteger(index)) throw invalidArgument('index', 'a safe integer', index)
      return rows[((index % size) + size) % size]!
    },
    computeReward(problem: Problem, completionText: string): number {
      return targetReward(ruleOf(problem), completionText)
    },
  })
}
