// A package-lock.json for a fresh consumer project, cut from this repository's lock, so that
// `npm ci --offline` installs the packed tarball and the named packages from the npm cache alone:
// the same versions this repository tests with, each tarball found by its integrity (no registry
// metadata needed, which `npm ci` here does not leave in the cache).

type LockEntry = {
  version?: string
  resolved?: string
  integrity?: string
  link?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  peerDependenciesMeta?: Record<string, { optional?: boolean }>
  [k: string]: unknown
}
type Lock = { lockfileVersion: number; packages: Record<string, LockEntry> }

export type ConsumerLockParameters = {
  /** This repository's package-lock.json, parsed. */
  repoLock: Lock
  /** This repository's package.json, parsed (the packed package's manifest). */
  manifest: LockEntry & { name: string; version: string }
  /** The tarball as the consumer's package.json names it, e.g. `file:../reliquary-0.1.0.tgz`. */
  tarballSpec: string
  /** Other packages the consumer depends on, by name: the version this repository locks. */
  also: readonly string[]
  /** The registry tarballs would come from if they were not cached. */
  registry: string
}

const parent = (path: string): string | null => {
  if (path === '') return null
  const i = path.lastIndexOf('/node_modules/')
  return i === -1 ? '' : path.slice(0, i)
}
const tarballUrl = (registry: string, name: string, version: string): string =>
  `${registry.replace(/\/$/, '')}/${name}/-/${name.split('/').pop()}-${version}.tgz`

/** The consumer's `package.json` dependencies and its `package-lock.json`. */
export function consumerLock(p: ConsumerLockParameters): {
  dependencies: Record<string, string>
  lock: object
} {
  const { repoLock, manifest, registry } = p
  const top = (name: string): LockEntry => {
    const e = repoLock.packages[`node_modules/${name}`]
    if (!e?.version) throw new Error(`${name} is not in this repository's lock`)
    return e
  }
  const dependencies: Record<string, string> = { [manifest.name]: p.tarballSpec }
  for (const name of p.also) dependencies[name] = top(name).version!
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: p.tarballSpec,
      ...(manifest.dependencies ? { dependencies: manifest.dependencies } : {}),
      ...(manifest.peerDependencies ? { peerDependencies: manifest.peerDependencies } : {}),
      ...(manifest.peerDependenciesMeta
        ? { peerDependenciesMeta: manifest.peerDependenciesMeta }
        : {}),
    },
  }
  // Follow every dependency npm would install, resolving names as Node does (nearest
  // node_modules upwards); the consumer's tree mirrors the repository's, whose root package is
  // the packed one.
  const queue: [string, string, boolean][] = [] // [from path, name, optional]
  const enqueue = (from: string, e: LockEntry) => {
    for (const n of Object.keys(e.dependencies ?? {})) queue.push([from, n, false])
    for (const n of Object.keys(e.optionalDependencies ?? {})) queue.push([from, n, true])
    // npm installs required peers and never optional ones.
    for (const n of Object.keys(e.peerDependencies ?? {}))
      if (e.peerDependenciesMeta?.[n]?.optional !== true) queue.push([from, n, false])
  }
  enqueue('', { dependencies: Object.fromEntries(p.also.map((n) => [n, ''])) })
  enqueue(`node_modules/${manifest.name}`, packages[`node_modules/${manifest.name}`]!)
  while (queue.length > 0) {
    const [from, name, optional] = queue.pop()!
    let found: string | null = null
    for (let dir: string | null = from; dir !== null && !found; dir = parent(dir)) {
      const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`
      if (packages[candidate] || repoLock.packages[candidate]) found = candidate
    }
    // The packed package's own dependencies sit at the top of this repository's tree.
    if (!found && from === `node_modules/${manifest.name}`) found = `node_modules/${name}`
    if (!found || (!packages[found] && !repoLock.packages[found])) {
      if (optional) continue
      throw new Error(`${name} (needed by ${from || 'the consumer'}) is not in the lock`)
    }
    if (packages[found]) continue
    const { dev, devOptional, peer, ...entry } = repoLock.packages[found]!
    void dev
    void devOptional
    void peer
    if (!entry.resolved && !entry.link && entry.version)
      entry.resolved = tarballUrl(
        registry,
        found.slice(found.lastIndexOf('node_modules/') + 13),
        entry.version,
      )
    packages[found] = entry
    enqueue(found, entry)
  }
  return {
    dependencies,
    lock: { name: 'consumer', lockfileVersion: repoLock.lockfileVersion, requires: true, packages },
  }
}
