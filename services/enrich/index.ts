// The enrich service: normalized batches in, batches with GeoIP, threat-intel and asset context out.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../core/metrics.js';
import { EventBatch } from '../core/proto.js';
import { decoder, type Stage } from '../core/runner.js';
import { startStages, type RunningService, type ServiceContext } from '../core/service.js';
import { lastToken, subjects } from '../core/topology.js';
import { AssetSource, loadAssetRecords } from './assets.js';
import { enrichBatch, newEnrichStats, type EnrichContext } from './core.js';
import { FeedManager } from './feeds.js';
import { GeoReader, openGeo, type GeoStats } from './geo.js';

/** What the running service has loaded; the gauges read it when /metrics is scraped. */
let running: { feeds?: FeedManager; assets?: AssetSource; geo?: GeoReader } = {};

const feedLabels = ['feed'] as const;
const metrics = {
  geoLookups: new Counter({ name: 'minisoc_enrich_geo_lookups_total', help: 'Addresses enrich looked up (GeoIP and range classification)', registers: [registry] }),
  geoCacheHits: new Counter({ name: 'minisoc_enrich_geo_cache_hits_total', help: 'Address lookups answered from the GeoIP cache', registers: [registry] }),
  geoNotLookedUp: new Counter({ name: 'minisoc_enrich_geo_special_addresses_total', help: 'Cache misses for private, loopback and other special-purpose addresses, which are tagged and never looked up', registers: [registry] }),
  indicatorMatches: new Counter({ name: 'minisoc_enrich_indicator_matches_total', help: 'Threat-intel indicators added to events, by feed', labelNames: feedLabels, registers: [registry] }),
  assetJoins: new Counter({ name: 'minisoc_enrich_asset_joins_total', help: 'Assets joined to events (by agent id, host, source or destination address)', registers: [registry] }),
  feedIndicators: new Gauge({
    name: 'minisoc_enrich_feed_indicators', help: 'Indicators in use, by feed (0 when it never loaded or expired)', labelNames: feedLabels, registers: [registry],
    collect() { this.reset(); for (const s of running.feeds?.status() ?? []) this.set({ feed: s.name }, s.indicators); },
  }),
  feedAge: new Gauge({
    name: 'minisoc_enrich_feed_age_seconds', help: 'Age of the feed data in use: since the file changed or the URL last answered', labelNames: feedLabels, registers: [registry],
    collect() { this.reset(); for (const s of running.feeds?.status() ?? []) if (s.ageS !== undefined) this.set({ feed: s.name }, s.ageS); },
  }),
  feedUp: new Gauge({
    name: 'minisoc_enrich_feed_up', help: '1 when the last load of the feed worked and its data is in use; the log says why not', labelNames: feedLabels, registers: [registry],
    collect() { this.reset(); for (const s of running.feeds?.status() ?? []) this.set({ feed: s.name }, s.state === 'ok' ? 1 : 0); },
  }),
  feedFailures: new Gauge({
    name: 'minisoc_enrich_feed_failures', help: 'Loads of the feed that failed in a row (the previous version stays in use)', labelNames: feedLabels, registers: [registry],
    collect() { this.reset(); for (const s of running.feeds?.status() ?? []) this.set({ feed: s.name }, s.failures); },
  }),
  assets: new Gauge({
    name: 'minisoc_enrich_assets', help: 'Assets in the registry enrich joins events to', registers: [registry],
    collect() { this.set(running.assets?.registry.size ?? 0); },
  }),
  geoCacheEntries: new Gauge({
    name: 'minisoc_enrich_geo_cache_entries', help: 'Addresses in the GeoIP cache', registers: [registry],
    collect() { this.set(running.geo?.cachedEntries ?? 0); },
  }),
};

function countGeo(now: GeoStats, before: GeoStats): void {
  if (now.lookups > before.lookups) metrics.geoLookups.inc(now.lookups - before.lookups);
  if (now.cacheHits > before.cacheHits) metrics.geoCacheHits.inc(now.cacheHits - before.cacheHits);
  if (now.notLookedUp > before.notLookedUp) metrics.geoNotLookedUp.inc(now.notLookedUp - before.notLookedUp);
}

/** The stage: decode an EventBatch, enrich it with the context of the moment, publish it to events.enriched.<source>. */
export function enrichStage(context: () => EnrichContext & { geo?: GeoReader }): Stage<ReturnType<typeof EventBatch.decode>> {
  return {
    name: 'enrich', stream: 'NORMALIZED',
    decode: decoder((b) => EventBatch.decode(b), 'EventBatch'),
    size: (b) => b.events.length,
    handle: (batch, meta) => {
      const sourceId = lastToken(meta.subject);
      const ctx = context();
      const stats = newEnrichStats();
      const before = ctx.geo ? { ...ctx.geo.stats } : undefined;
      const events = enrichBatch(batch.events, { ...ctx, stats });
      if (ctx.geo && before) countGeo(ctx.geo.stats, before);
      for (const [feed, n] of stats.matchesByFeed) metrics.indicatorMatches.inc({ feed }, n);
      if (stats.assetJoins) metrics.assetJoins.inc(stats.assetJoins);
      return [{ subject: subjects.enriched(sourceId), data: EventBatch.encode({ source_id: sourceId, events }).finish() }];
    },
  };
}

/**
 * Opens the GeoIP databases, loads the feeds (INTEL_FEEDS_FILE) and the asset registry (when there
 * is a database), keeps them fresh, and runs the stage. A GeoIP database or feeds file that was asked
 * for and cannot be used stops the start (ConfigError); a feed or the registry failing to load does not.
 */
export async function startEnrich(ctx: ServiceContext): Promise<RunningService> {
  const { config, log } = ctx;
  const geo = await openGeo({ cityDb: config.GEOIP_CITY_DB, asnDb: config.GEOIP_ASN_DB, cacheEntries: config.GEOIP_CACHE_ENTRIES, log });
  log.info({ databases: geo.databases }, 'GeoIP databases open');
  let feeds: FeedManager | undefined;
  let assets: AssetSource | undefined;
  try {
    if (config.INTEL_FEEDS_FILE) {
      feeds = new FeedManager({ file: config.INTEL_FEEDS_FILE, timeoutMs: config.INTEL_FETCH_TIMEOUT_MS, maxBytes: config.INTEL_FEED_MAX_BYTES, log });
      await feeds.start();
      log.info({ feeds: feeds.status().map((s) => ({ name: s.name, state: s.state, indicators: s.indicators })) }, 'threat-intel feeds loaded');
    }
    if (config.DATABASE_URL) {
      const db = ctx.db();
      assets = new AssetSource(() => loadAssetRecords(db), { refreshIntervalMs: config.ASSETS_REFRESH_INTERVAL_MS, log });
      await assets.start();
      log.info({ assets: assets.registry.size }, 'asset registry loaded');
    }
    const sources = { geo: geo.reader, feeds, assets };
    running = sources;
    const stages = await startStages(ctx, [enrichStage(() => ({ nowMs: Date.now(), geo: geo.reader, intel: feeds?.index, assets: assets?.registry }))]);
    return {
      stop: async () => {
        await stages.stop();
        feeds?.stop();
        assets?.stop();
        geo.close();
        if (running === sources) running = {};
      },
    };
  } catch (err) {
    feeds?.stop();
    assets?.stop();
    geo.close();
    throw err;
  }
}
