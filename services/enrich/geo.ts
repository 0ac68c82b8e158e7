// GeoIP: country (or city) and AS of public addresses from MaxMind-format databases, special ranges tagged, lookups cached.
import { statSync, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import maxmind, { type Reader, type Response } from 'maxmind';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { minisoc } from '../core/proto.js';
import type { Asset } from './assets.js';
import type { Hit } from './intel.js';
import { parseIp, scopeOf, type Ip, type IpScope } from './ip.js';
import { Lru } from './lru.js';

export type Geo = minisoc.IGeo;
export type AutonomousSystem = minisoc.IAutonomousSystem;

/**
 * The country-level database shipped with the code (@ip-location-db/geo-whois-asn-country-mmdb,
 * IPv4 and IPv6 in one file), so GeoIP works offline with nothing to download.
 */
export function shippedGeoDb(): string {
  try {
    return createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
  } catch (err) {
    throw new ConfigError('the shipped GeoIP database (@ip-location-db/geo-whois-asn-country-mmdb) is not installed: run npm install, or set GEOIP_CITY_DB', { cause: err });
  }
}

/** Credit the shipped database's data requires (CC BY 4.0), for READMEs and `soc lookup`. */
export const SHIPPED_GEO_DB_CREDIT = 'Country data: ip-location-db geo-whois-asn-country (sapics), from RIR WHOIS/ASN data '
  + '© Number Resource Organization (nro.net), CC BY 4.0, and public geofeeds. Known to contain inaccuracies.';

/** What enrichment knows about one address; the same object for every event carrying it while it is cached. */
export interface IpFacts {
  ip: Ip;
  scope: IpScope;
  /** Null for special-purpose addresses (never looked up) and addresses the database does not know. */
  geo: Readonly<Geo> | null;
  as: Readonly<AutonomousSystem> | null;
  /**
   * Memo of the other per-address lookups, valid while the index or registry they came from is the
   * current one (both are immutable; a reload makes a new one): repeated addresses skip them too.
   */
  memo?: { intel: object | null; hits: Hit[] | undefined; assets: object | null; asset: Asset | undefined };
}

export interface GeoStats {
  /** Addresses asked about. */
  lookups: number;
  /** Of those, answered from the cache. */
  cacheHits: number;
  /** Database lookups (cache misses for public addresses). */
  dbLookups: number;
  /** Cache misses for special-purpose addresses, which are classified and never looked up. */
  notLookedUp: number;
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
const countryNames = new Map<string, string>();

/** English short name of an ISO 3166-1 alpha-2 code ('' when unknown), from the runtime's ICU data. */
export function countryName(iso: string): string {
  let name = countryNames.get(iso);
  if (name === undefined) {
    try {
      name = /^[A-Z]{2}$/.test(iso) ? regionNames.of(iso) ?? '' : '';
    } catch {
      name = '';
    }
    countryNames.set(iso, name);
  }
  return name;
}

// maxmind records are untyped nested objects; the readers below check every value they take.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Rec = Record<string, any>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * The Geo fields of a database record. Reads MaxMind GeoIP2/GeoLite2 Country and City records
 * (country.iso_code, city.names.en, location.latitude, ...) and ip-location-db's flat ones
 * (country_code, city, state1, latitude, longitude).
 */
export function geoFromRecord(r: Rec | null): Readonly<Geo> | null {
  if (!r) return null;
  const iso = (str(r.country?.iso_code) || str(r.country_code) || str(r.registered_country?.iso_code)).toUpperCase();
  const city = str(r.city?.names?.en) || str(r.city);
  const region = str(r.subdivisions?.[0]?.names?.en) || str(r.state1);
  const lat = num(r.location?.latitude ?? r.latitude);
  const lon = num(r.location?.longitude ?? r.longitude);
  if (!iso && !city && lat === undefined) return null;
  const geo: Geo = { country_iso_code: iso, country_name: str(r.country?.names?.en) || countryName(iso), city_name: city, region_name: region };
  if (lat !== undefined && lon !== undefined) { geo.lat = lat; geo.lon = lon; }
  return Object.freeze(geo);
}

/** The AS fields of a GeoLite2-ASN (or ip-location-db ASN) record. */
export function asFromRecord(r: Rec | null): Readonly<AutonomousSystem> | null {
  const n = num(r?.autonomous_system_number);
  if (!r || n === undefined) return null;
  return Object.freeze({ number: n, organization_name: str(r.autonomous_system_organization) });
}

export interface GeoDatabases {
  /** A Country or City database; the shipped country database by default. */
  city?: Reader<Response> | null;
  asn?: Reader<Response> | null;
}

/** Looks addresses up, classifying special-purpose ones instead; answers repeat from a bounded LRU cache. */
export class GeoReader {
  readonly stats: GeoStats = { lookups: 0, cacheHits: 0, dbLookups: 0, notLookedUp: 0 };
  private readonly cache: Lru<string, IpFacts>;

  constructor(private dbs: GeoDatabases, opts: { cacheEntries?: number } = {}) {
    this.cache = new Lru(opts.cacheEntries ?? 50_000);
  }

  /** Facts about an address text, or undefined when it is not an IP address. */
  facts(text: string): IpFacts | undefined {
    this.stats.lookups++;
    let f = this.cache.get(text);
    if (f) {
      this.stats.cacheHits++;
      return f;
    }
    const ip = parseIp(text);
    if (!ip) return undefined;
    const scope = scopeOf(ip);
    let geo: Readonly<Geo> | null = null;
    let as: Readonly<AutonomousSystem> | null = null;
    if (scope === 'public') {
      this.stats.dbLookups++;
      geo = this.dbs.city ? geoFromRecord(this.dbs.city.get(ip.text) as Rec | null) : null;
      as = this.dbs.asn ? asFromRecord(this.dbs.asn.get(ip.text) as Rec | null) : null;
    } else {
      this.stats.notLookedUp++;
    }
    f = { ip, scope, geo, as, memo: undefined };
    this.cache.set(text, f);
    return f;
  }

  /** Swaps in new databases (a reload) and forgets what the old ones said. */
  replace(dbs: GeoDatabases): void {
    this.dbs = { ...this.dbs, ...dbs };
    this.cache.clear();
  }

  get cachedEntries(): number {
    return this.cache.size;
  }
}

/** Facts about an address without a database or cache (scope only): what enrichment does when GeoIP is off. */
export function ipFacts(text: string): IpFacts | undefined {
  const ip = parseIp(text);
  return ip ? { ip, scope: scopeOf(ip), geo: null, as: null, memo: undefined } : undefined;
}

export interface GeoOptions {
  /** A MaxMind-format Country or City database; the shipped country database when unset. */
  cityDb?: string;
  /** A MaxMind-format ASN database (GeoLite2-ASN or compatible); no AS data when unset. */
  asnDb?: string;
  cacheEntries?: number;
  /** How often configured database files are checked for a replacement (0 = never). */
  watchIntervalMs?: number;
  log?: Logger;
}

export interface DatabaseInfo {
  path: string;
  type: string;
  builtAt: string;
}

export interface OpenGeo {
  reader: GeoReader;
  databases: { city: DatabaseInfo; asn?: DatabaseInfo };
  close(): void;
}

async function openDb(path: string, what: string): Promise<Reader<Response>> {
  try {
    return await maxmind.open<Response>(path, { cache: { max: 1000 } });
  } catch (err) {
    throw new ConfigError(`${what} ${JSON.stringify(path)}: cannot open as a MaxMind database: ${errorMessage(err)}`, { cause: err });
  }
}

function info(path: string, r: Reader<Response>): DatabaseInfo {
  return { path, type: r.metadata.databaseType, builtAt: r.metadata.buildEpoch.toISOString() };
}

/**
 * Opens the GeoIP databases. A configured file that cannot be opened is a ConfigError (the operator
 * asked for it); a configured file replaced on disk is reloaded, and a replacement that does not open
 * leaves the previous database in use.
 */
/** What tells one version of a file from the next: its inode (a rename puts a new one in place), size and time. */
function stamp(s: Stats | undefined): string {
  return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : '';
}

export async function openGeo(opts: GeoOptions): Promise<OpenGeo> {
  // Taken before opening: a file replaced between here and the watcher's first look is still seen as a change.
  const loaded = {
    city: opts.cityDb ? stamp(statSync(opts.cityDb, { throwIfNoEntry: false })) : '',
    asn: opts.asnDb ? stamp(statSync(opts.asnDb, { throwIfNoEntry: false })) : '',
  };
  const cityPath = opts.cityDb || shippedGeoDb();
  const city = await openDb(cityPath, opts.cityDb ? 'GEOIP_CITY_DB' : 'the shipped GeoIP database');
  const asn = opts.asnDb ? await openDb(opts.asnDb, 'GEOIP_ASN_DB') : null;
  const reader = new GeoReader({ city, asn }, { cacheEntries: opts.cacheEntries });
  const databases: OpenGeo['databases'] = { city: info(cityPath, city), ...(asn ? { asn: info(opts.asnDb!, asn) } : {}) };
  const timers: NodeJS.Timeout[] = [];
  const interval = opts.watchIntervalMs ?? 30_000;
  const watch = (path: string, key: 'city' | 'asn') => {
    // Its own stat each interval, compared with the version last tried: fs.watchFile reports changes against its first
    // poll, so a file replaced before that poll finished (a busy machine) would never be seen.
    let busy = false;
    const check = () => {
      if (busy) return;
      busy = true;
      stat(path).then((cur) => {
        const now = stamp(cur);
        if (now === loaded[key]) return;
        loaded[key] = now;
        return maxmind.open<Response>(path, { cache: { max: 1000 } }).then((db) => {
          reader.replace({ [key]: db });
          databases[key] = info(path, db);
          opts.log?.info({ path, builtAt: databases[key]!.builtAt }, 'GeoIP database reloaded');
        }, (err: unknown) => opts.log?.error({ path, err: errorMessage(err) }, 'GeoIP database changed but does not open; the previous one stays'));
      }, () => undefined /* removed: keep what is loaded until a new file arrives */).finally(() => { busy = false; });
    };
    const timer = setInterval(check, interval);
    timer.unref();
    timers.push(timer);
  };
  if (interval > 0) {
    if (opts.cityDb) watch(opts.cityDb, 'city');
    if (opts.asnDb) watch(opts.asnDb, 'asn');
  }
  return { reader, databases, close: () => { for (const t of timers) clearInterval(t); } };
}
