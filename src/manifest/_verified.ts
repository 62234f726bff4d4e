// Run-time registry of the manifests the verify functions returned as trusted. A WeakSet, so no
// other code can add to it (a second copy of the package has its own: re-verify across copies).
const trusted = new WeakSet<object>()

/** @internal */
export function _markTrusted<T extends object>(m: T): T {
  trusted.add(m)
  return m
}

/** @internal */
export function _isTrusted(m: unknown): boolean {
  return typeof m === 'object' && m !== null && trusted.has(m)
}
