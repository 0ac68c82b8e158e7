// `soc lookup IP`: what enrichment would add for one address (GeoIP, special range, threat intel, asset), as JSON.
import { loadConfig } from '../../services/core/config.js';
import { createDb } from '../../services/core/db/index.js';
import { errorMessage } from '../../services/core/errors.js';
import { createLogger } from '../../services/core/log.js';
import { AssetRegistry, loadAssetRecords } from '../../services/enrich/assets.js';
import { explainAddress, type AddressReport } from '../../services/enrich/explain.js';
import { FeedManager, type FeedStatus } from '../../services/enrich/feeds.js';
import { openGeo, SHIPPED_GEO_DB_CREDIT, type DatabaseInfo } from '../../services/enrich/geo.js';
import { databaseUrl } from '../local/runtime.js';

export interface LookupOptions {
  /** Feeds file; default INTEL_FEEDS_FILE. */
  feeds?: string;
  /** City/Country and ASN databases; default GEOIP_CITY_DB / GEOIP_ASN_DB, else the shipped country database. */
  cityDb?: string;
  asnDb?: string;
  /** false (--no-assets): do not read the agents table. */
  assets?: boolean;
  /** Print on one line instead of indented. */
  compact?: boolean;
}

export interface LookupResult extends AddressReport {
  sources: {
    geoip: { city: DatabaseInfo; asn?: DatabaseInfo; credit?: string };
    feeds: FeedStatus[];
    assets: { count: number } | { error: string } | null;
  };
}

/**
 * Opens what the enrich service would open (same settings), asks about one address, prints the
 * answer as JSON and returns it. Feeds are loaded now, so their status says whether they load.
 */
export async function lookup(ip: string, opts: LookupOptions = {}): Promise<LookupResult> {
  const config = loadConfig();
  const log = createLogger('soc', 'silent');
  const geo = await openGeo({ cityDb: opts.cityDb ?? config.GEOIP_CITY_DB, asnDb: opts.asnDb ?? config.GEOIP_ASN_DB, watchIntervalMs: 0 });
  const feedsFile = opts.feeds ?? config.INTEL_FEEDS_FILE;
  const feeds = feedsFile ? new FeedManager({ file: feedsFile, timeoutMs: config.INTEL_FETCH_TIMEOUT_MS, maxBytes: config.INTEL_FEED_MAX_BYTES, log }) : undefined;
  try {
    await feeds?.start();
    let assets: AssetRegistry | undefined;
    let assetSource: LookupResult['sources']['assets'] = null;
    if (opts.assets !== false) {
      try {
        const db = createDb(databaseUrl(), { max: 1 });
        try {
          assets = new AssetRegistry(await loadAssetRecords(db));
          assetSource = { count: assets.size };
        } finally {
          await db.destroy();
        }
      } catch (err) {
        assetSource = { error: errorMessage(err) };
      }
    }
    const report = explainAddress(ip, { nowMs: Date.now(), geo: geo.reader, intel: feeds?.index, assets });
    const result: LookupResult = {
      ...report,
      sources: {
        geoip: { ...geo.databases, ...(!(opts.cityDb ?? config.GEOIP_CITY_DB) ? { credit: SHIPPED_GEO_DB_CREDIT } : {}) },
        feeds: feeds?.status() ?? [],
        assets: assetSource,
      },
    };
    process.stdout.write(JSON.stringify(result, null, opts.compact ? undefined : 2) + '\n');
    return result;
  } finally {
    feeds?.stop();
    geo.close();
  }
}
