// IP addresses as numbers: strict parsing, canonical text, and the special-purpose ranges that are never looked up.

/**
 * Where an address lives. Everything but 'public' is a special-purpose range (IANA registries for
 * IPv4 and IPv6): no GeoIP database can say anything true about it, so it is tagged, not looked up.
 */
export type IpScope = 'public' | 'private' | 'loopback' | 'link-local' | 'cgnat' | 'multicast' | 'documentation' | 'reserved' | 'unspecified';

/** A parsed address. IPv4 and IPv4-mapped IPv6 are both version 4, so they meet the same indicators. */
export interface Ip {
  version: 4 | 6;
  /** The IPv4 address as an unsigned 32-bit number (version 4 only). */
  v4: number;
  /** The IPv6 address as four unsigned 32-bit words, most significant first (version 6 only). */
  v6: Uint32Array | null;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lowercase, longest zero run compressed). */
  text: string;
}

/** Parses dotted-quad IPv4 into an unsigned number; -1 when it is not one (leading zeros are refused: some tools read them as octal). */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Parses IPv6 text (with ::, an embedded dotted IPv4 tail, brackets or a zone) into four words; null when it is not one. */
export function parseIPv6(input: string): Uint32Array | null {
  let s = input;
  if (s.charCodeAt(0) === 91 && s.charCodeAt(s.length - 1) === 93) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45) return null;
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === s.length) return new Uint32Array(4);
  } else if (s.charCodeAt(0) === 58) {
    return null;
  }
  while (i < s.length) {
    let j = i;
    let v = 0;
    while (j < s.length && j - i < 5) {
      const c = s.charCodeAt(j);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      v = v * 16 + d;
      j++;
    }
    if (j < s.length && s.charCodeAt(j) === 46) {
      // An IPv4 tail takes the last two groups.
      const v4 = parseIPv4(s, i, s.length);
      if (v4 < 0 || groups.length > 6) return null;
      groups.push(Math.floor(v4 / 65536), v4 & 0xffff);
      break;
    }
    if (j === i || j - i > 4) return null;
    groups.push(v);
    if (j === s.length) break;
    if (s.charCodeAt(j) !== 58) return null;
    if (s.charCodeAt(j + 1) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i = j + 2;
      if (i === s.length) break;
    } else {
      i = j + 1;
      if (i === s.length) return null;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return null;
  const full = gap < 0 ? groups : [...groups.slice(0, gap), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(gap)];
  const w = new Uint32Array(4);
  for (let k = 0; k < 4; k++) w[k] = full[2 * k]! * 65536 + full[2 * k + 1]!;
  return w;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952 text of four words. */
export function formatIPv6(w: Uint32Array): string {
  const g: number[] = [];
  for (let k = 0; k < 4; k++) g.push(w[k]! >>> 16, w[k]! & 0xffff);
  let best = -1;
  let bestLen = 1;
  for (let k = 0; k < 8;) {
    if (g[k] !== 0) { k++; continue; }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) { best = k; bestLen = e - k; }
    k = e;
  }
  const hex = (a: number, b: number) => g.slice(a, b).map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/** Parses any IP text; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address. Undefined when it is not an IP. */
export function parseIp(s: string): Ip | undefined {
  if (typeof s !== 'string' || s.length === 0) return undefined;
  if (s.indexOf(':') < 0) {
    const v4 = parseIPv4(s);
    return v4 < 0 ? undefined : { version: 4, v4, v6: null, text: formatIPv4(v4) };
  }
  const w = parseIPv6(s);
  if (!w) return undefined;
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return { version: 4, v4: w[3]!, v6: null, text: formatIPv4(w[3]!) };
  return { version: 6, v4: 0, v6: w, text: formatIPv6(w) };
}

/** [network, prefix length, scope], most specific first where they nest. */
const V4_RANGES: readonly (readonly [string, number, IpScope])[] = [
  ['0.0.0.0', 32, 'unspecified'],
  ['0.0.0.0', 8, 'reserved'], // "this network"
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'], // shared address space (RFC 6598)
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'], // IETF protocol assignments
  ['192.0.2.0', 24, 'documentation'], // TEST-NET-1
  ['192.88.99.0', 24, 'reserved'], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'], // benchmarking
  ['198.51.100.0', 24, 'documentation'], // TEST-NET-2
  ['203.0.113.0', 24, 'documentation'], // TEST-NET-3
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // future use and the limited broadcast address
];

const V4_TABLE = V4_RANGES.map(([net, len, scope]) => {
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { net: parseIPv4(net), mask, scope };
});

/** The special-purpose range of an IPv4 address, or 'public'. */
export function scopeOfIPv4(n: number): IpScope {
  for (const r of V4_TABLE) if (((n & r.mask) >>> 0) === r.net) return r.scope;
  return 'public';
}

/** The special-purpose range of an IPv6 address, or 'public'. Only 2000::/3 is globally routed unicast. */
export function scopeOfIPv6(w: Uint32Array): IpScope {
  const w0 = w[0]!;
  const top16 = w0 >>> 16;
  if (w0 === 0 && w[1] === 0 && w[2] === 0) {
    if (w[3] === 0) return 'unspecified';
    if (w[3] === 1) return 'loopback';
    return 'reserved'; // deprecated IPv4-compatible addresses
  }
  if (w0 === 0x0064ff9b && w[1] === 0 && w[2] === 0) return scopeOfIPv4(w[3]!) === 'public' ? 'public' : 'reserved'; // NAT64 well-known prefix
  if ((top16 & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((top16 & 0xffc0) === 0xfe80) return 'link-local';
  if ((top16 & 0xff00) === 0xff00) return 'multicast';
  if (w0 === 0x20010db8 || (top16 === 0x3fff && (w0 & 0xf000) === 0)) return 'documentation'; // 2001:db8::/32, 3fff::/20
  if ((top16 & 0xe000) !== 0x2000) return 'reserved'; // outside global unicast: unassigned, site-local, discard-only
  if (w0 >>> 9 === 0x20010000 >>> 9) return 'reserved'; // 2001::/23 IETF protocol assignments (Teredo, ORCHID, ...)
  return 'public';
}

export function scopeOf(ip: Ip): IpScope {
  return ip.version === 4 ? scopeOfIPv4(ip.v4) : scopeOfIPv6(ip.v6!);
}

/**
 * Parses "a.b.c.d/len" or "v6/len" (or a bare address as a host route) into the first and last
 * address as BigInts; bits set below the prefix are refused, since they usually mean a typo.
 */
export function parseCidr(s: string): { version: 4 | 6; start: bigint; end: bigint; len: number; text: string } | undefined {
  const slash = s.indexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const bits = addr.version === 4 ? 32 : 128;
  let len = bits;
  if (slash >= 0) {
    const l = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l)) return undefined;
    len = Number(l);
    // An IPv4-mapped network keeps its IPv6 prefix length in the text; convert it.
    if (addr.version === 4 && s.indexOf(':') >= 0) len -= 96;
    if (len < 0 || len > bits) return undefined;
  }
  const start = ipToBigInt(addr);
  const hostBits = BigInt(bits - len);
  const hostMask = (1n << hostBits) - 1n;
  if ((start & hostMask) !== 0n) return undefined;
  return { version: addr.version, start, end: start | hostMask, len, text: `${addr.text}/${len}` };
}

export function ipToBigInt(ip: Ip): bigint {
  if (ip.version === 4) return BigInt(ip.v4);
  const w = ip.v6!;
  return (BigInt(w[0]!) << 96n) | (BigInt(w[1]!) << 64n) | (BigInt(w[2]!) << 32n) | BigInt(w[3]!);
}
