// The threat-intelligence index: every loaded feed merged into hash sets and range tables for constant or logarithmic lookups.
import { formatIPv4, formatIPv6, type Ip, type IpScope } from './ip.js';
import { RangeTable4, RangeTable6, type Block } from './ranges.js';

/** One version of a feed as the index sees it: a new object each time the feed's data changes. */
export interface FeedInfo {
  name: string;
  /** 0-100, copied into every indicator this feed matches. */
  confidence: number;
  description: string;
  /** Extra event tags when this feed matches (besides 'threat-intel'). */
  tags: readonly string[];
  /** Whether its IPs and blocks also match private and other special-purpose addresses. */
  matchPrivate: boolean;
  /** The data is not used from this time on (Infinity: never expires). */
  expiresAtMs: number;
}

/** The indicators of one feed, parsed. Addresses are numbers (IPv4) or canonical text (IPv6 exact). */
export interface IndicatorSet {
  ips4: number[];
  ips6: string[];
  nets4: { start: number; end: number; len: number }[];
  nets6: { start: bigint; end: bigint; len: number }[];
  domains: string[];
  hashes: string[];
}

export function emptyIndicators(): IndicatorSet {
  return { ips4: [], ips6: [], nets4: [], nets6: [], domains: [], hashes: [] };
}

export function indicatorCount(s: IndicatorSet): number {
  return s.ips4.length + s.ips6.length + s.nets4.length + s.nets6.length + s.domains.length + s.hashes.length;
}

/** A match: the listed indicator (an address, a CIDR block, a domain or a hash) and the feed listing it. */
export interface Hit {
  /** STIX cyber-observable type: ipv4-addr, ipv6-addr (also for blocks), domain-name, file. */
  type: 'ipv4-addr' | 'ipv6-addr' | 'domain-name' | 'file';
  value: string;
  feed: FeedInfo;
}

interface NetItem { feed: FeedInfo; text: string; len: number }

/** Of the blocks covering one segment, the most specific per feed: one indicator per feed, the closest. */
function mostSpecificPerFeed<K extends number | bigint>(covering: Block<K, NetItem>[]): NetItem[] {
  const best = new Map<FeedInfo, NetItem>();
  for (const b of covering) {
    const have = best.get(b.item.feed);
    if (!have || b.len > have.len) best.set(b.item.feed, b.item);
  }
  return [...best.values()];
}

function addTo<K>(map: Map<K, FeedInfo[]>, key: K, feed: FeedInfo, single: FeedInfo[]): void {
  const have = map.get(key);
  // Most keys belong to one feed: they share that feed's one-element array instead of allocating their own.
  if (!have) map.set(key, single);
  else if (!have.includes(feed)) map.set(key, [...have, feed]);
}

export interface IntelCounts { ips: number; networks: number; domains: number; hashes: number }

export class IntelIndex {
  private readonly exact4 = new Map<number, FeedInfo[]>();
  private readonly exact6 = new Map<string, FeedInfo[]>();
  private readonly domains = new Map<string, FeedInfo[]>();
  private readonly hashes = new Map<string, FeedInfo[]>();
  private readonly nets4: RangeTable4<NetItem>;
  private readonly nets6: RangeTable6<NetItem>;
  private readonly anyMatchPrivate: boolean;
  readonly counts: IntelCounts;

  constructor(feeds: readonly { info: FeedInfo; data: IndicatorSet }[]) {
    const blocks4: Block<number, NetItem>[] = [];
    const blocks6: Block<bigint, NetItem>[] = [];
    let nets = 0;
    for (const { info, data } of feeds) {
      const single = [info];
      for (const n of data.ips4) addTo(this.exact4, n, info, single);
      for (const t of data.ips6) addTo(this.exact6, t, info, single);
      for (const d of data.domains) addTo(this.domains, d, info, single);
      for (const h of data.hashes) addTo(this.hashes, h, info, single);
      for (const b of data.nets4) blocks4.push({ ...b, item: { feed: info, text: `${formatIPv4(b.start)}/${b.len}`, len: b.len } });
      for (const b of data.nets6) blocks6.push({ ...b, item: { feed: info, text: `${formatIPv6(bigIntWords(b.start))}/${b.len}`, len: b.len } });
      nets += data.nets4.length + data.nets6.length;
    }
    this.nets4 = new RangeTable4(blocks4, mostSpecificPerFeed);
    this.nets6 = new RangeTable6(blocks6, mostSpecificPerFeed);
    this.anyMatchPrivate = feeds.some((f) => f.info.matchPrivate);
    this.counts = { ips: this.exact4.size + this.exact6.size, networks: nets, domains: this.domains.size, hashes: this.hashes.size };
  }

  get empty(): boolean {
    return this.counts.ips + this.counts.networks + this.counts.domains + this.counts.hashes === 0;
  }

  get hasIps(): boolean {
    return this.counts.ips + this.counts.networks > 0;
  }

  get hasDomains(): boolean {
    return this.domains.size > 0;
  }

  get hasHashes(): boolean {
    return this.hashes.size > 0;
  }

  /**
   * The feeds listing this address, exactly or in a block (one indicator per feed, exact before block).
   * Special-purpose addresses only match feeds that ask for it: broad lists such as FireHOL level 1
   * include the private ranges as bogons, which would flag every internal connection.
   */
  matchIp(ip: Ip, scope: IpScope, nowMs: number): Hit[] | undefined {
    return alive(this.ipCandidates(ip, scope), nowMs);
  }

  /**
   * matchIp before the expiry check: the same for as long as this index lives, so callers may keep it
   * per address (enrichment does, beside its GeoIP cache) and only filter it with alive().
   */
  ipCandidates(ip: Ip, scope: IpScope): Hit[] | undefined {
    if (scope !== 'public' && !this.anyMatchPrivate) return undefined;
    let exact: FeedInfo[] | undefined;
    let covering: NetItem[] | undefined;
    let type: Hit['type'];
    if (ip.version === 4) {
      exact = this.exact4.get(ip.v4);
      covering = this.nets4.segments ? this.nets4.lookup(ip.v4) : undefined;
      type = 'ipv4-addr';
    } else {
      exact = this.exact6.get(ip.text);
      covering = this.nets6.segments ? this.nets6.lookup(ip.v6!) : undefined;
      type = 'ipv6-addr';
    }
    if (!exact && !covering) return undefined;
    const usable = (f: FeedInfo) => scope === 'public' || f.matchPrivate;
    const hits: Hit[] = [];
    for (const f of exact ?? []) if (usable(f)) hits.push({ type, value: ip.text, feed: f });
    for (const n of covering ?? []) {
      if (usable(n.feed) && !hits.some((h) => h.feed === n.feed)) hits.push({ type, value: n.text, feed: n.feed });
    }
    return hits.length ? hits : undefined;
  }

  /** The feeds listing this domain or one of its parent domains (the closest listed one per feed). */
  matchDomain(name: string, nowMs: number): Hit[] | undefined {
    if (this.domains.size === 0 || !name) return undefined;
    let d = name.charCodeAt(name.length - 1) === 46 ? name.slice(0, -1) : name;
    d = d.toLowerCase();
    let hits: Hit[] | undefined;
    for (;;) {
      const feeds = this.domains.get(d);
      if (feeds) {
        for (const f of feeds) {
          if (f.expiresAtMs > nowMs && !hits?.some((h) => h.feed === f)) (hits ??= []).push({ type: 'domain-name', value: d, feed: f });
        }
      }
      const dot = d.indexOf('.');
      // Stop before a bare top-level domain: a list naming "com" is not meant to flag every .com name.
      if (dot < 0 || d.indexOf('.', dot + 1) < 0) break;
      d = d.slice(dot + 1);
    }
    return hits;
  }

  /** The feeds listing this file hash (MD5, SHA-1 or SHA-256, any case). */
  matchHash(hash: string, nowMs: number): Hit[] | undefined {
    if (this.hashes.size === 0 || !hash) return undefined;
    const h = hash.toLowerCase();
    const feeds = this.hashes.get(h);
    if (!feeds) return undefined;
    const hits: Hit[] = [];
    for (const f of feeds) if (f.expiresAtMs > nowMs) hits.push({ type: 'file', value: h, feed: f });
    return hits.length ? hits : undefined;
  }
}

/** The hits whose feed data has not expired at `nowMs`. */
export function alive(hits: Hit[] | undefined, nowMs: number): Hit[] | undefined {
  if (!hits) return undefined;
  for (const h of hits) if (h.feed.expiresAtMs <= nowMs) {
    const kept = hits.filter((x) => x.feed.expiresAtMs > nowMs);
    return kept.length ? kept : undefined;
  }
  return hits;
}

function bigIntWords(k: bigint): Uint32Array {
  const w = new Uint32Array(4);
  for (let j = 3; j >= 0; j--) { w[j] = Number(k & 0xffffffffn); k >>= 32n; }
  return w;
}

/** An index with nothing in it: what enrichment uses when no feeds are configured. */
export const EMPTY_INTEL = new IntelIndex([]);
