import { invalidArgument } from '../errors/base.js'

/** The chain's `ip_type` of an address: 4 or 6. @internal */
export type IpType = 4 | 6

/**
 * Encodes a textual IPv4 or IPv6 address as the chain's `u128` (`ip`) and `ip_type`, as the
 * Bittensor SDK's `ip_to_int` / `ip_version` do.
 * @internal
 */
export function ipToInt(ip: string): { ip: bigint; ipType: IpType } {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (v4) {
    const parts = v4.slice(1).map(Number)
    if (parts.some((p) => p > 255)) throw invalidArgument('ip', 'an IPv4 or IPv6 address', ip)
    return { ip: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n), ipType: 4 }
  }
  if (/^[0-9a-fA-F:]+$/.test(ip) && ip.includes(':')) {
    const [head = '', tail, extra] = ip.split('::')
    if (extra !== undefined) throw invalidArgument('ip', 'an IPv4 or IPv6 address', ip)
    const h = head === '' ? [] : head.split(':')
    const t = tail === undefined || tail === '' ? [] : tail.split(':')
    const fill = tail === undefined ? 0 : 8 - h.length - t.length
    const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t]
    if (groups.length !== 8 || groups.some((g) => g.length === 0 || g.length > 4))
      throw invalidArgument('ip', 'an IPv4 or IPv6 address', ip)
    return { ip: groups.reduce((a, g) => (a << 16n) | BigInt(`0x${g}`), 0n), ipType: 6 }
  }
  throw invalidArgument('ip', 'an IPv4 or IPv6 address', ip)
}

/**
 * Decodes the chain's `u128` address to text the way Python's `ipaddress.ip_address(int)` does
 * (which the Bittensor SDK uses): below 2^32 it is IPv4, otherwise IPv6 (compressed form).
 * @internal
 */
export function intToIp(value: bigint): string {
  if (value < 0n || value >= 1n << 128n) throw invalidArgument('ip', 'a u128', value)
  if (value < 1n << 32n) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.')
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => (value >> s) & 0xffffn)
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0n) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0n) j++
    if (j - i > bestLen && j - i > 1) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}
