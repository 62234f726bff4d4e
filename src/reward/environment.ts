import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { toHex, utf8 } from '../_utils/bytes.js'
import { lastBoxedOnlyString, stripBoxedWrapper } from './extractBoxedAnswer.js'
import { mathReward } from './mathReward.js'
import bundled from './data/mathProblems.json' with { type: 'json' }

/** One problem as an environment hands it to miners and validators. */
export type Problem = {
  /** The prompt text (encoded raw, without a chat template, in E1–E3). */
  readonly prompt: string
  /** The reference answer the reward compares against. */
  readonly groundTruth: string
  /** `sha256(prompt_utf8).hex()[:16]`. */
  readonly id: string
}

/**
 * A task source with a verifiable reward: the interface the validator's admission pipeline and the
 * miner both use. Indices wrap modulo {@link RewardEnvironment.size} like the reference's
 * `get_problem` (admission separately rejects `promptIdx ≥ size`).
 *
 * - Spec: docs/protocol.md §6.
 */
export interface RewardEnvironment {
  /** Environment name (`"math"`, …). */
  readonly id: string
  /** Number of problems. */
  readonly size: number
  /** The problem at `index mod size`. */
  getProblem(index: number): Problem
  /** The reward of one decoded completion for `problem`. */
  computeReward(problem: Problem, completionText: string): number
}

/**
 * Checks that `env` has a {@link RewardEnvironment}'s shape (an object with an integer `size`,
 * `getProblem` and `computeReward`), as the miner, the validator and admission need it.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` (argument `environment`) otherwise.
 * @internal
 */
export function assertRewardEnvironment(env: unknown): asserts env is RewardEnvironment {
  const e = env as Partial<RewardEnvironment> | null
  if (
    typeof e !== 'object' ||
    e === null ||
    !Number.isSafeInteger(e.size) ||
    typeof e.getProblem !== 'function' ||
    typeof e.computeReward !== 'function'
  )
    throw invalidArgument('environment', 'a RewardEnvironment', env)
}

/** One row of a MATH-style problem set: the statement and a worked solution ending in `\boxed{}`. */
export type MathProblemRecord = {
  readonly problem: string
  readonly solution: string
}

/** Options of {@link createMathEnvironment}. */
export type CreateMathEnvironmentOptions = {
  /**
   * The rows to serve. Defaults to the 40 short arithmetic/algebra problems bundled with the SDK
   * (`src/reward/data/mathProblems.json`), written for this project; pass the rows of
   * `qwedsacf/competition_math` (split `train`, in order) to reproduce the reference's indices.
   */
  problems?: readonly MathProblemRecord[] | undefined
  /** Environment id. @default 'math' */
  id?: string | undefined
}

/**
 * `sha256(prompt_utf8).hexdigest()[:16]`, the reference's problem id.
 *
 * - Spec: docs/protocol.md §6.1.
 *
 * @param prompt - The problem statement.
 * @returns 16 lowercase hex characters.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `prompt` is not a string.
 * @example
 * ```ts
 * import { problemId } from 'reliquary'
 * problemId('What is 1 + 1?').length // 16
 * ```
 */
export function problemId(prompt: string): string {
  if (typeof prompt !== 'string') throw invalidArgument('prompt', 'a string', prompt)
  return toHex(sha256(utf8(prompt))).slice(0, 16)
}

function checkIndex(index: number): void {
  if (!Number.isSafeInteger(index)) throw invalidArgument('index', 'a safe integer', index)
}

/**
 * A MATH environment (E1/E2 reward) over a problem set held in memory. The ground truth of each
 * row is the inner text of the last balanced `\boxed{}` / `\fbox{}` of its solution (`""` when
 * there is none, which makes every completion score 0), and rewards are {@link mathReward}.
 *
 * - Spec: docs/protocol.md §6.1 (mirrors `MATHEnvironment` in `reliquary/environment/math.py`,
 *   59b4718).
 *
 * @param options - {@link CreateMathEnvironmentOptions}
 * @returns A frozen {@link RewardEnvironment}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if the problem set is empty or a row is malformed;
 *   `getProblem` throws `INVALID_ARGUMENT` for a non-integer index.
 * @example
 * ```ts
 * import { createMathEnvironment } from 'reliquary'
 * const env = createMathEnvironment()
 * const p = env.getProblem(0)
 * env.computeReward(p, `... so the answer is \\boxed{${p.groundTruth}}`) // 1
 * ```
 */
export function createMathEnvironment(
  options: CreateMathEnvironmentOptions = {},
): RewardEnvironment {
  const { problems = bundled.problems, id = 'math' } = options
  if (!Array.isArray(problems) || problems.length === 0) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      '"problems" expected a non-empty array of { problem, solution } rows.',
      {
        meta: { param: 'problems' },
      },
    )
  }
  const rows: Problem[] = problems.map((row, i) => {
    if (
      typeof row !== 'object' ||
      row === null ||
      typeof row.problem !== 'string' ||
      typeof row.solution !== 'string'
    ) {
      throw invalidArgument(
        `problems[${i}]`,
        'an object { problem: string, solution: string }',
        row,
      )
    }
    const boxed = lastBoxedOnlyString(row.solution)
    return Object.freeze({
      prompt: row.problem,
      groundTruth: boxed ? stripBoxedWrapper(boxed) : '',
      id: problemId(row.problem),
    })
  })
  const size = rows.length
  return Object.freeze({
    id,
    size,
    getProblem(index: number): Problem {
      checkIndex(index)
      // Python `index % len` is non-negative for a positive modulus.
      return rows[((index % size) + size) % size]!
    },
    computeReward(problem: Problem, completionText: string): number {
      if (typeof problem !== 'object' || problem === null)
        throw invalidArgument('problem', 'a Problem object', problem)
      return mathReward(completionText, problem.groundTruth)
    },
  })
}
