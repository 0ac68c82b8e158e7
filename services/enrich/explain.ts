// What enrichment would add for one address, as plain data: the core of `soc lookup`.
import { ConfigError } from '../core/errors.js';
import type { Event } from '../core/proto.js';
import type { Asset } from './assets.js';
import { enrichBatch, type EnrichContext } from './core.js';
import { ipFacts } from './geo.js';

export interface AddressReport {
  ip: string;
  /** The canonical form enrichment uses (IPv4-mapped IPv6 becomes IPv4). */
  address: string;
  version: 4 | 6;
  /** 'public', or the special-purpose range that keeps it from being looked up. */
  scope: string;
  lookedUp: boolean;
  geo: Record<string, unknown> | null;
  as: Record<string, unknown> | null;
  indicators: Record<string, unknown>[];
  asset: Asset | null;
  /** The tags and labels an event with this address as source.ip would get. */
  asSource: { tags: string[]; labels: Record<string, string> };
}

/** Runs the address through the real enrichment (as the source.ip of an empty event) and reports what it added. */
export function explainAddress(ip: string, ctx: EnrichContext): AddressReport {
  const facts = ctx.geo ? ctx.geo.facts(ip) : ipFacts(ip);
  if (!facts) throw new ConfigError(`${JSON.stringify(ip)} is not an IP address`);
  const e: Event = { source: { ip } };
  enrichBatch([e], ctx);
  const plain = (v: unknown) => (v ? { ...(v as Record<string, unknown>) } : null);
  return {
    ip,
    address: facts.ip.text,
    version: facts.ip.version,
    scope: facts.scope,
    lookedUp: facts.scope === 'public' && ctx.geo !== undefined,
    geo: plain(e.source?.geo),
    as: plain(e.source?.as),
    indicators: (e.threat?.indicators ?? []).map((i) => ({ ...i })),
    asset: ctx.assets?.byIp(facts.ip.text) ?? null,
    asSource: { tags: [...(e.tags ?? [])], labels: { ...e.labels } },
  };
}
