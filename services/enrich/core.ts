// The enrich core: GeoIP, threat-intel matches and asset context added to normalized events, from injected readers; no I/O.
import type { Event, minisoc } from '../core/proto.js';
import { CRITICALITY_LEVELS, type Asset, type AssetRegistry } from './assets.js';
import { ipFacts, type IpFacts } from './geo.js';
import { alive, type Hit, type IntelIndex } from './intel.js';
import type { IpScope } from './ip.js';

/** Anything that answers facts about an address: the GeoReader (cached), or a test double. */
export interface IpFactsSource {
  facts(ip: string): IpFacts | undefined;
}

export interface EnrichContext {
  /** The clock: feed data past its max age stops matching at this time. */
  nowMs: number;
  /** GeoIP; without it addresses are still classified (private, loopback, ...) but not located. */
  geo?: IpFactsSource;
  intel?: IntelIndex;
  assets?: AssetRegistry;
  /** Counters the caller turns into metrics. */
  stats?: EnrichStats;
}

export interface EnrichStats {
  events: number;
  /** Indicators added, in all and by feed. */
  indicatorMatches: number;
  matchesByFeed: Map<string, number>;
  /** Assets joined to events (host, source or destination). */
  assetJoins: number;
}

export function newEnrichStats(): EnrichStats {
  return { events: 0, indicatorMatches: 0, matchesByFeed: new Map(), assetJoins: 0 };
}

/** The tag an event gets for an address in a special-purpose range (also in labels <side>_ip_scope). */
export const SCOPE_TAGS: Readonly<Record<Exclude<IpScope, 'public'>, string>> = {
  private: 'private-ip', loopback: 'loopback-ip', 'link-local': 'link-local-ip', cgnat: 'cgnat-ip',
  multicast: 'multicast-ip', documentation: 'documentation-ip', reserved: 'reserved-ip', unspecified: 'unspecified-ip',
};

/** The tag of every event with an indicator match; services/detect/alert.ts scores it (threatBoost). */
export const THREAT_INTEL_TAG = 'threat-intel';

/** Scopes that are "our side" of a connection for network.direction. */
const INTERNAL: ReadonlySet<IpScope> = new Set<IpScope>(['private', 'cgnat', 'loopback', 'link-local']);

type Indicator = minisoc.IThreatIndicator;

/**
 * What one event gets, collected first and applied at the end. One instance is reused for every event
 * (enrichment is synchronous), so events with little or nothing to add allocate little or nothing.
 */
class Additions {
  readonly tags: string[] = [];
  /** Key, value, key, value... */
  readonly labels: string[] = [];
  indicators: Indicator[] | undefined;
  readonly assets: Asset[] = [];
  srcAsset: Asset | undefined;
  dstAsset: Asset | undefined;

  reset(): void {
    this.tags.length = 0;
    this.labels.length = 0;
    this.indicators = undefined;
    this.assets.length = 0;
    this.srcAsset = undefined;
    this.dstAsset = undefined;
  }

  label(k: string, v: string): void {
    this.labels.push(k, v);
  }
}

const scratch = new Additions();

/** Returns the events (changed in place) with what enrichment knows about them added. */
export function enrichBatch(events: Event[], ctx: EnrichContext): Event[] {
  for (let i = 0; i < events.length; i++) {
    scratch.reset();
    enrichEvent(events[i]!, ctx, scratch);
  }
  if (ctx.stats) ctx.stats.events += events.length;
  return events;
}

function factsOf(ctx: EnrichContext, ip: string): IpFacts | undefined {
  return ctx.geo ? ctx.geo.facts(ip) : ipFacts(ip);
}

function memoOf(f: IpFacts): NonNullable<IpFacts['memo']> {
  return (f.memo ??= { intel: null, hits: undefined, assets: null, asset: undefined });
}

/** Indicators of an address, from the per-address memo while the index is the same. */
function ipHits(f: IpFacts, intel: IntelIndex, nowMs: number): Hit[] | undefined {
  const m = memoOf(f);
  if (m.intel !== intel) {
    m.intel = intel;
    m.hits = intel.ipCandidates(f.ip, f.scope);
  }
  return m.hits && alive(m.hits, nowMs);
}

function assetOf(f: IpFacts, assets: AssetRegistry): Asset | undefined {
  const m = memoOf(f);
  if (m.assets !== assets) {
    m.assets = assets;
    m.asset = assets.byIp(f.ip.text);
  }
  return m.asset;
}

function addHits(add: Additions, hits: Hit[], field: string, ctx: EnrichContext): void {
  for (const h of hits) {
    (add.indicators ??= []).push({
      type: h.type, value: h.value, feed: h.feed.name, confidence: h.feed.confidence, description: h.feed.description, field,
    });
    for (const t of h.feed.tags) add.tags.push(t);
    if (ctx.stats) {
      ctx.stats.indicatorMatches++;
      ctx.stats.matchesByFeed.set(h.feed.name, (ctx.stats.matchesByFeed.get(h.feed.name) ?? 0) + 1);
    }
  }
  add.tags.push(THREAT_INTEL_TAG);
}

/** GeoIP, scope, indicators and asset of source.ip or destination.ip. */
function endpoint(ep: minisoc.IEndpoint, side: 'source' | 'destination', ctx: EnrichContext, add: Additions): IpFacts | undefined {
  const f = factsOf(ctx, ep.ip!);
  if (!f) return undefined;
  if (f.scope !== 'public') {
    add.label(side === 'source' ? 'source_ip_scope' : 'destination_ip_scope', f.scope);
    add.tags.push(SCOPE_TAGS[f.scope]);
  } else {
    // What the source itself said wins: a firewall may know better than a country database.
    if (f.geo && !ep.geo?.country_iso_code && !ep.geo?.city_name) ep.geo = f.geo;
    if (f.as && !ep.as?.number) ep.as = f.as;
  }
  if (ctx.intel?.hasIps) {
    const hits = ipHits(f, ctx.intel, ctx.nowMs);
    if (hits) addHits(add, hits, side === 'source' ? 'source.ip' : 'destination.ip', ctx);
  }
  if (ctx.assets?.size) {
    const asset = assetOf(f, ctx.assets);
    if (asset) {
      add.assets.push(asset);
      if (side === 'source') add.srcAsset = asset; else add.dstAsset = asset;
      add.label(`${side}_asset_id`, asset.id);
      if (asset.hostname) add.label(`${side}_asset_hostname`, asset.hostname);
    }
  }
  return f;
}

/** ECS network.direction from the monitored network's point of view, when both ends are known. */
function direction(src: IpFacts, dst: IpFacts, add: Additions): string {
  const ours = (f: IpFacts, asset: Asset | undefined) => (INTERNAL.has(f.scope) ? true : f.scope === 'public' ? asset !== undefined : undefined);
  const s = ours(src, add.srcAsset);
  const d = ours(dst, add.dstAsset);
  if (s === undefined || d === undefined) return '';
  return s ? (d ? 'internal' : 'outbound') : d ? 'inbound' : 'external';
}

function checkDomain(name: string | null | undefined, field: string, intel: IntelIndex, ctx: EnrichContext, add: Additions): void {
  const hits = name ? intel.matchDomain(name, ctx.nowMs) : undefined;
  if (hits) addHits(add, hits, field, ctx);
}

function checkHashes(obj: minisoc.IProcess | minisoc.IFile | null | undefined, prefix: string, intel: IntelIndex, ctx: EnrichContext, add: Additions): void {
  if (!obj) return;
  let hits = obj.hash_md5 ? intel.matchHash(obj.hash_md5, ctx.nowMs) : undefined;
  if (hits) addHits(add, hits, `${prefix}.hash.md5`, ctx);
  hits = obj.hash_sha1 ? intel.matchHash(obj.hash_sha1, ctx.nowMs) : undefined;
  if (hits) addHits(add, hits, `${prefix}.hash.sha1`, ctx);
  hits = obj.hash_sha256 ? intel.matchHash(obj.hash_sha256, ctx.nowMs) : undefined;
  if (hits) addHits(add, hits, `${prefix}.hash.sha256`, ctx);
}

function enrichEvent(e: Event, ctx: EnrichContext, add: Additions): void {
  const intel = ctx.intel;
  const src = e.source?.ip ? endpoint(e.source, 'source', ctx, add) : undefined;
  const dst = e.destination?.ip ? endpoint(e.destination, 'destination', ctx, add) : undefined;
  if (src && dst && !e.network?.direction) {
    const dir = direction(src, dst, add);
    if (dir) (e.network ??= {}).direction = dir;
  }

  if (intel && !intel.empty) {
    if (intel.hasIps && e.dns?.resolved_ip?.length) {
      for (const ip of e.dns.resolved_ip) {
        const f = factsOf(ctx, ip);
        const hits = f && ipHits(f, intel, ctx.nowMs);
        if (hits) addHits(add, hits, 'dns.resolved_ip', ctx);
      }
    }
    if (intel.hasDomains) {
      checkDomain(e.dns?.question_name, 'dns.question.name', intel, ctx, add);
      checkDomain(e.url?.domain, 'url.domain', intel, ctx, add);
      checkDomain(e.destination?.domain, 'destination.domain', intel, ctx, add);
    }
    if (intel.hasHashes) {
      checkHashes(e.process, 'process', intel, ctx, add);
      checkHashes(e.file, 'file', intel, ctx, add);
    }
  }

  if (ctx.assets?.size) hostAsset(e, ctx.assets, add);
  if (add.assets.length) applyAssets(e, add, ctx);
  apply(e, add);
}

/** The machine the event happened on: by agent id, else by one of the host's addresses. */
function hostAsset(e: Event, assets: AssetRegistry, add: Additions): void {
  let a = e.agent?.id ? assets.byAgentId(e.agent.id) : undefined;
  if (!a && e.host?.ip?.length) {
    for (const ip of e.host.ip) {
      const f = ipFacts(ip);
      a = f && assets.byIp(f.ip.text);
      if (a) break;
    }
  }
  if (!a) return;
  add.assets.push(a);
  add.label('asset_id', a.id);
  // Host facts the event lacks: what the agent reported when it enrolled and since.
  const host = (e.host ??= {});
  if (!host.hostname && a.hostname) host.hostname = a.hostname;
  if (!host.name && a.hostname) host.name = a.hostname.toLowerCase();
  if (!host.os_name && !host.os_family && a.os) host.os_name = a.os;
  if (!host.ip?.length && a.ips.length) host.ip = [...a.ips];
}

/** Tags and criticality of every asset the event touches, for rules and alert scoring (assetBoost). */
function applyAssets(e: Event, add: Additions, ctx: EnrichContext): void {
  const list = add.assets;
  let criticality = '';
  let rank = -1;
  let single: Asset | undefined = list[0];
  for (const a of list) {
    if (a !== single) single = undefined;
    for (const t of a.tags) add.tags.push(t);
    const r = a.criticality ? CRITICALITY_LEVELS.indexOf(a.criticality as (typeof CRITICALITY_LEVELS)[number]) : -1;
    if (r > rank) { rank = r; criticality = a.criticality; }
  }
  if (ctx.stats) ctx.stats.assetJoins += list.length;
  const tagsLabel = single ? single.tagsLabel : [...new Set(list.flatMap((a) => a.tags))].sort().join(',');
  if (tagsLabel) add.label('asset_tags', tagsLabel);
  if (criticality && !e.labels?.['asset.criticality'] && !e.labels?.asset_criticality) add.label('asset_criticality', criticality);
}

function apply(e: Event, add: Additions): void {
  if (add.tags.length) {
    // Decoded messages share one frozen empty array as the default: copy before adding.
    const have = e.tags;
    const tags = have && have.length && !Object.isFrozen(have) ? have : (e.tags = have && have.length ? [...have] : []);
    for (const t of add.tags) if (!tags.includes(t)) tags.push(t);
  }
  if (add.labels.length) {
    const have = e.labels;
    const labels = have && !Object.isFrozen(have) ? have : (e.labels = have ? { ...have } : {});
    const l = add.labels;
    for (let i = 0; i < l.length; i += 2) if (labels[l[i]!] === undefined) labels[l[i]!] = l[i + 1]!;
  }
  if (add.indicators) {
    const threat = (e.threat ??= {});
    threat.indicators = threat.indicators?.length ? [...threat.indicators, ...add.indicators] : add.indicators;
  }
}
