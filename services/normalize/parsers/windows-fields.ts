// Windows event field helpers: integers, GUIDs and times as Windows writes them, and setters of ECS user, process, file, network and registry fields.
import type { Event } from '../../core/proto.js';
import { baseName, table } from './guard.js';
import { normalizeIp, toUtc } from './util.js';

const DECIMAL = /^\d{1,15}$/;
const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;
const HEX = /^0[xX][0-9a-fA-F]{1,13}$/;

/** A non-negative integer written in decimal or as Windows hex (0x1a2c); undefined for anything else. */
export function parseWinInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  if (DECIMAL.test(v)) return Number(v);
  if (HEX.test(v)) return parseInt(v.slice(2), 16);
  return undefined;
}

export type Data = Record<string, string>;

/** A present, meaningful value: Windows writes "-" for "none". */
export function val(d: Data, key: string): string | undefined {
  const v = d[key];
  return v === undefined || v === '' || v === '-' ? undefined : v;
}

export function setUser(e: Event, name: string | undefined, domain: string | undefined, id: string | undefined): void {
  if (!name && !id) return;
  const u = (e.user ??= {});
  if (name) u.name = name;
  if (domain) u.domain = domain;
  if (id) u.id = id;
}

export function setTarget(e: Event, name: string | undefined, domain: string | undefined, id: string | undefined): void {
  if (!name && !id) return;
  const t: NonNullable<NonNullable<Event['user']>['target']> = {};
  if (name) t.name = name;
  if (domain) t.domain = domain;
  if (id) t.id = id;
  (e.user ??= {}).target = t;
}

/** "DOMAIN\name" as Sysmon writes users. */
export function setDomainUser(e: Event, v: string | undefined): void {
  if (!v) return;
  const bs = v.indexOf('\\');
  if (bs < 0) setUser(e, v, undefined, undefined);
  else setUser(e, v.slice(bs + 1), v.slice(0, bs), undefined);
}

export function setProcess(e: Event, d: Data, pidKey: string, guidKey: string, imageKey: string): void {
  const pid = parseWinInt(d[pidKey]);
  const guid = val(d, guidKey);
  const image = val(d, imageKey);
  if (pid === undefined && !guid && !image) return;
  const p = (e.process ??= {});
  if (pid !== undefined) p.pid = pid;
  if (guid) p.entity_id = braced(guid);
  if (image) { p.executable = image; p.name = baseName(image); }
}

export function setFile(e: Event, path: string | undefined): void {
  if (!path) return;
  const f = (e.file ??= {});
  f.path = path;
  const name = baseName(path);
  f.name = name;
  if (name.length < path.length) f.directory = path.slice(0, path.length - name.length - 1);
  const dot = name.lastIndexOf('.');
  if (dot > 0 && dot < name.length - 1) f.extension = name.slice(dot + 1);
}

/** "SHA1=..,MD5=..,SHA256=..,IMPHASH=.." into hash_* fields of a process or file. */
export function setHashes(target: { hash_md5?: string | null; hash_sha1?: string | null; hash_sha256?: string | null }, v: string | undefined): void {
  if (!v) return;
  for (const part of v.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const algo = part.slice(0, eq).trim().toUpperCase();
    const hash = part.slice(eq + 1).trim().toLowerCase();
    if (!hash) continue;
    if (algo === 'MD5') target.hash_md5 = hash;
    else if (algo === 'SHA1') target.hash_sha1 = hash;
    else if (algo === 'SHA256') target.hash_sha256 = hash;
  }
}

export function setEndpoint(e: Event, side: 'source' | 'destination', ip: string | undefined, port: string | undefined, domain: string | undefined): void {
  const addr = ip ? normalizeIp(ip) : undefined;
  const p = parseWinInt(port);
  if (!addr && !domain && !p) return;
  const ep = (e[side] ??= {});
  if (addr) ep.ip = addr;
  if (p !== undefined && p > 0 && p <= 65535) ep.port = p;
  if (domain) ep.domain = domain;
}

const WIN_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z?$/;
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Windows writes UTC times ("2026-04-17T05:24:53.092051900Z", Sysmon's "2026-04-17 05:24:53.079"): those
 * are checked and rewritten in place, keeping every fraction digit; anything else goes through toUtc.
 */
export function windowsTime(v: string | undefined): string | undefined {
  if (!v) return undefined;
  const m = WIN_TIME.exec(v);
  if (!m) return toUtc(v);
  const month = Number(m[2]); const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > MONTH_DAYS[month - 1]! || Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return undefined;
  if (month === 2 && day === 29) {
    const y = Number(m[1]);
    if (y % 4 !== 0 || (y % 100 === 0 && y % 400 !== 0)) return undefined;
  }
  if (v.length === 20 + (m[7]?.length ?? 0) && v.charCodeAt(10) === 84) return v;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[7] ?? ''}Z`;
}

export function setTime(v: string | undefined): string | undefined {
  return windowsTime(v);
}

const HIVES = table<string>({
  HKLM: 'HKLM', HKU: 'HKU', HKCU: 'HKCU', HKCR: 'HKCR', HKCC: 'HKCC',
  HKEY_LOCAL_MACHINE: 'HKLM', HKEY_USERS: 'HKU', HKEY_CURRENT_USER: 'HKCU', HKEY_CLASSES_ROOT: 'HKCR', HKEY_CURRENT_CONFIG: 'HKCC',
});

export function setRegistry(e: Event, d: Data, valueEvent: boolean): void {
  const path = val(d, 'TargetObject');
  if (!path) return;
  const r: NonNullable<Event['registry']> = { path };
  e.registry = r;
  const bs = path.indexOf('\\');
  const hive = HIVES[(bs < 0 ? path : path.slice(0, bs)).toUpperCase()];
  let rest = path;
  if (hive) { r.hive = hive; rest = bs < 0 ? '' : path.slice(bs + 1); }
  if (valueEvent) {
    const last = rest.lastIndexOf('\\');
    if (last >= 0) { r.key = rest.slice(0, last); r.value = rest.slice(last + 1); }
    else if (rest) r.value = rest;
  } else if (rest) {
    r.key = rest;
  }
  const details = d.Details;
  if (details !== undefined && details !== '') {
    r.data_strings = details;
    if (details.startsWith('DWORD')) r.data_type = 'REG_DWORD';
    else if (details.startsWith('QWORD')) r.data_type = 'REG_QWORD';
    else if (details.startsWith('Binary Data')) r.data_type = 'REG_BINARY';
  }
}

export const DNS_STATUS = table<string>({ 0: 'NOERROR', 9001: 'FORMERR', 9002: 'SERVFAIL', 9003: 'NXDOMAIN', 9004: 'NOTIMP', 9005: 'REFUSED' });

export const INTEGRITY = table<string>({
  'S-1-16-0': 'Untrusted', 'S-1-16-4096': 'Low', 'S-1-16-8192': 'Medium', 'S-1-16-8448': 'MediumPlus',
  'S-1-16-12288': 'High', 'S-1-16-16384': 'System', 'S-1-16-20480': 'Protected',
});
/** GUIDs as Windows renders them, in braces (evtx_dump leaves the braces out), so ids from XML and JSON join. */
export function braced(guid: string): string;
export function braced(guid: string | undefined): string | undefined;
export function braced(guid: string | undefined): string | undefined {
  if (!guid) return undefined;
  return guid.charCodeAt(0) === 123 || !GUID.test(guid) ? guid : `{${guid}}`;
}

