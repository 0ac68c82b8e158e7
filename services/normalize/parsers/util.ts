// Shared value normalizers for parsers: timestamps to RFC 3339 UTC, IP addresses, small coercions.
import { isIP } from 'node:net';
import { ValidationError } from '../../core/errors.js';

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}:?\d{2}|UTC|GMT)?$/;

/**
 * Converts a timestamp to RFC 3339 in UTC, keeping the source's sub-second precision (up to ns).
 * Accepts RFC 3339 / ISO 8601 strings (a missing zone means UTC), and epoch numbers in s, ms, µs or ns.
 * Returns undefined for values that are not a time.
 */
export function toUtc(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\d{16,19}$/.test(value)) {
    // µs and ns epochs do not fit a double exactly: the digits after the milliseconds are kept as text.
    const d = new Date(Number(value.slice(0, 13)));
    return Number.isNaN(d.getTime()) ? undefined : `${d.toISOString().slice(0, 23)}${value.slice(13)}Z`;
  }
  if (typeof value === 'number' || (typeof value === 'string' && /^\d{9,19}(\.\d+)?$/.test(value))) {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) return undefined;
    let ms: number; let extra = '';
    if (n >= 1e17) { ms = Math.floor(n / 1e6); extra = String(Math.floor(n % 1e6)).padStart(6, '0'); }
    else if (n >= 1e14) { ms = Math.floor(n / 1e3); extra = String(Math.floor(n % 1e3)).padStart(3, '0'); }
    else if (n >= 1e11) ms = n;
    else ms = n * 1000;
    const d = new Date(Math.floor(ms));
    if (Number.isNaN(d.getTime())) return undefined;
    const iso = d.toISOString();
    return extra ? `${iso.slice(0, 23)}${extra}Z` : iso;
  }
  if (typeof value !== 'string') return undefined;
  const m = RFC3339.exec(value.trim());
  if (!m) {
    // Other spellings ("Nov 22 2026 10:00:00 GMT") only when they name a year and a zone: no guessing.
    if (!/\d{4}/.test(value) || !/(?:Z|GMT|UTC|[+-]\d{2}:?\d{2})\s*$/.test(value.trim())) return undefined;
    const t = Date.parse(value);
    return Number.isNaN(t) ? undefined : new Date(t).toISOString();
  }
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m;
  // Out-of-range parts are refused, not rolled over into the next hour or day.
  if (+mo! < 1 || +mo! > 12 || +d! < 1 || +d! > new Date(Date.UTC(+y!, +mo!, 0)).getUTCDate() || +h! > 23 || +mi! > 59 || +s! > 60) return undefined;
  let offsetMin = 0;
  if (zone !== 'Z' && zone !== 'z' && zone !== 'UTC' && zone !== 'GMT') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, Math.min(+s!, 59)) - offsetMin * 60_000;
  if (Number.isNaN(ms)) return undefined;
  const base = new Date(ms).toISOString().slice(0, 19);
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** Normalizes an IP address (IPv4, IPv6 lowercased, IPv4-mapped IPv6 to IPv4); undefined if not one. */
export function normalizeIp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  let v = value.trim();
  if (v.startsWith('[') && v.endsWith(']')) v = v.slice(1, -1);
  const zone = v.indexOf('%');
  if (zone > 0) v = v.slice(0, zone);
  const kind = isIP(v);
  if (kind === 4) return v;
  if (kind === 6) {
    v = v.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v);
    return mapped ? mapped[1] : v;
  }
  return undefined;
}

/** Like normalizeIp, but a present value that is not an IP is a validation error naming the field. */
export function requireIp(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '' || value === '-') return undefined;
  const ip = normalizeIp(value);
  if (!ip) throw new ValidationError(`${field}: ${JSON.stringify(value).slice(0, 80)} is not an IP address`);
  return ip;
}

/** A port number 0-65535, or a validation error naming the field. */
export function requirePort(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '' || value === '-') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ValidationError(`${field}: ${JSON.stringify(value).slice(0, 80)} is not a port number`);
  return n;
}

/** A finite number, or a validation error naming the field. */
export function requireNumber(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '' || value === '-') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) throw new ValidationError(`${field}: ${JSON.stringify(value).slice(0, 80)} is not a number`);
  return n;
}

/** Lowercased host name without a trailing dot. */
export function normalizeHost(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '' || value === '-') return undefined;
  return value.trim().replace(/\.$/, '').toLowerCase();
}
