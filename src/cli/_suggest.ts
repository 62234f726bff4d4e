// "Did you mean …?" for near-miss option names, commands, choices and config keys.
// Hand-written: a 20-line edit distance is smaller than any dependency (the SDK keeps its install
// light), and the inputs are a few dozen short names.

/**
 * Edit distance between `a` and `b`: insertions, deletions, substitutions and swaps of two
 * neighbouring characters cost 1 each (optimal string alignment; `prot` is 1 from `port`).
 */
export function editDistance(a: string, b: string): number {
  let before: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j]!, before[j - 2]! + 1)
    }
    before = prev
    prev = row
  }
  return prev[b.length]!
}

/**
 * The candidate closest to `input`, when it is close enough to be a typo: distance at most 1 for
 * names up to 4 characters, 2 up to 8, 3 beyond; or `input` a prefix of exactly one candidate.
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const limit = input.length <= 4 ? 1 : input.length <= 8 ? 2 : 3
  let best: string | undefined
  let bestD = Number.POSITIVE_INFINITY
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase())
    if (d < bestD) [best, bestD] = [c, d]
  }
  if (best !== undefined && bestD <= limit) return best
  const prefixed = input.length >= 2 ? candidates.filter((c) => c.startsWith(input)) : []
  return prefixed.length === 1 ? prefixed[0] : undefined
}

/** ` Did you mean "x"?`, or nothing when no candidate is close. */
export function didYouMean(
  input: string,
  candidates: readonly string[],
  show: (c: string) => string = (c) => `"${c}"`,
): string {
  const c = closest(input, candidates)
  return c === undefined ? '' : ` Did you mean ${show(c)}?`
}
