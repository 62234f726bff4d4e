/**
 * Every leaf of `b` that differs from `a`, as `path: a → b` (top-level ids and descriptions
 * excluded): how the demo profile departs from e3.
 * @internal
 */
export function profileChanges(a: unknown, b: unknown, path = ''): string[] {
  if (isRecord(a) && isRecord(b)) {
    const out: string[] = []
    for (const k of Object.keys(b)) {
      if (path === '' && (k === 'id' || k === 'description')) continue
      out.push(...profileChanges(a[k], b[k], path ? `${path}.${k}` : k))
    }
    return out
  }
  return JSON.stringify(a) === JSON.stringify(b)
    ? []
    : [`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`]
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
