// Apache / Nginx access-log lines (common and combined formats) to web events.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { MAX_FIELD_CHARS, checkFieldSize, codePoint, guarded, stripLineEnd, table } from './guard.js';
import { normalizeIp } from './util.js';

const MONTHS = table<number>({ Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 });
// Web servers escape every control character they log, so a raw one means the line is corrupt.
const CONTROL = /[\x00-\x1f\x7f]/;
const TIME = /(\d{1,2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/y;
const STATUS = /^\d{3}$/;
const BYTES = /^\d{1,15}$/;
const METHOD = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const PROTOCOL = /^HTTP\/(\d(?:\.\d)?)$/;
const IPV4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;
const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(\[[^\]]*\]|[^/:?#]*)(?::(\d{1,5}))?([^?#]*)(?:\?([^#]*))?/;
const AUTHORITY = /^([^/:]+|\[[^\]]*\]):(\d{1,5})$/;

function reject(reason: string): never {
  throw new ValidationError(reason);
}

/** The end of the space-delimited token at i. */
function tokenEnd(line: string, i: number): number {
  const j = line.indexOf(' ', i);
  return j < 0 ? line.length : j;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Reads the quoted field whose opening quote is at i; returns [value, index after the closing quote].
 * Servers escape a quote as \" (Apache) or \x22 (Nginx) and a backslash as \\ or \x5C: both are decoded,
 * as is any other \xHH that stands for a printable ASCII character; escapes of control characters and
 * of non-ASCII bytes stay as written, so the value is still one line of text.
 */
function quoted(line: string, i: number, what: string): [string, number] {
  const start = i + 1;
  const close = line.indexOf('"', start);
  const backslash = line.indexOf('\\', start);
  if (close < 0 && backslash < 0) reject(`truncated access log line: the quoted ${what} is not closed`);
  if (backslash < 0 || (close >= 0 && backslash > close)) {
    if (close - start > MAX_FIELD_CHARS) checkFieldSize(what, line.slice(start, close));
    return [line.slice(start, close), close + 1];
  }
  let out = '';
  let from = start;
  let k = backslash;
  const n = line.length;
  while (k < n) {
    const c = line.charCodeAt(k);
    if (c === 34) {
      out += line.slice(from, k);
      checkFieldSize(what, out);
      return [out, k + 1];
    }
    if (c === 92 && k + 1 < n) {
      const next = line.charCodeAt(k + 1);
      if (next === 34 || next === 92) {
        out += line.slice(from, k);
        from = k + 1;
        k += 2;
        continue;
      }
      if (next === 120 && k + 3 < n) {
        const v = hexValue(line.charCodeAt(k + 2)) * 16 + hexValue(line.charCodeAt(k + 3));
        if (v >= 32 && v < 127 && hexValue(line.charCodeAt(k + 2)) >= 0 && hexValue(line.charCodeAt(k + 3)) >= 0) {
          out += line.slice(from, k) + String.fromCharCode(v);
          from = k + 4;
          k += 4;
          continue;
        }
      }
      k += 2;
      continue;
    }
    k++;
  }
  return reject(`truncated access log line: the quoted ${what} is not closed`);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** "[10/Oct/2000:13:55:36 -0700]" at i to RFC 3339 UTC; returns [time, index after "]"]. */
function accessTime(line: string, i: number): [string, number] {
  TIME.lastIndex = i + 1;
  const m = TIME.exec(line);
  if (!m) {
    const close = line.indexOf(']', i);
    if (close < 0) reject('truncated access log line: the [time] is not closed');
    reject(`access log time [${line.slice(i + 1, Math.min(close, i + 40))}] is not "dd/Mon/yyyy:hh:mm:ss +zzzz"`);
  }
  const month = MONTHS[m[2]!];
  const day = Number(m[1]); const year = Number(m[3]);
  const h = Number(m[4]); const mi = Number(m[5]); const s = Number(m[6]);
  const oh = Number(m[8]); const om = Number(m[9]);
  if (month === undefined) reject(`access log time has an unknown month ${JSON.stringify(m[2])}`);
  if (h > 23 || mi > 59 || s > 60 || oh > 23 || om > 59 || day < 1) reject(`access log time [${m[0].slice(0, -1)}] is out of range`);
  const local = Date.UTC(year, month, day, h, mi, s);
  if (new Date(local).getUTCDate() !== day) reject(`access log time [${m[0].slice(0, -1)}] is not a date`);
  const offset = (oh * 60 + om) * (m[7] === '-' ? -1 : 1);
  const d = new Date(local - offset * 60_000);
  const iso = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}Z`;
  return [iso, TIME.lastIndex];
}

/** Fills url.* from a request target: origin form (/p?q), absolute form (http://h/p) or authority form (h:443). */
function setUrl(e: Event, target: string): void {
  const url: NonNullable<Event['url']> = { original: target };
  e.url = url;
  const c = target.charCodeAt(0);
  if (c === 47 /* / */) {
    const q = target.indexOf('?');
    if (q < 0) url.path = target;
    else { url.path = target.slice(0, q); url.query = target.slice(q + 1); }
    return;
  }
  let m = ABSOLUTE.exec(target);
  if (m) {
    url.scheme = m[1]!.toLowerCase();
    if (m[2]) url.domain = m[2].toLowerCase();
    if (m[3]) { const p = Number(m[3]); if (p <= 65535) url.port = p; }
    if (m[4]) url.path = m[4];
    if (m[5] !== undefined) url.query = m[5];
    return;
  }
  m = AUTHORITY.exec(target);
  if (m) {
    url.domain = m[1]!.toLowerCase();
    const p = Number(m[2]);
    if (p <= 65535) url.port = p;
  }
}

function expectSpace(line: string, i: number, next: string): void {
  if (i >= line.length) reject(`truncated access log line: ${next} is missing`);
  if (line.charCodeAt(i) !== 32) reject(`access log line has ${codePoint(line, i)} at column ${i + 1} where a space before the ${next} belongs`);
}

function parse(record: string): Event[] {
  const line = stripLineEnd(record);
  if (line.length === 0) reject('empty access log line');
  const bad = CONTROL.exec(line);
  if (bad) reject(`control character ${codePoint(line, bad.index)} at column ${bad.index + 1}: web servers escape these, so the line is corrupt or not an access log`);

  // %h %l %u
  let i = 0;
  let end = tokenEnd(line, i);
  const client = line.slice(i, end);
  if (!client) reject('access log line does not start with the client address');
  expectSpace(line, end, 'ident field');
  i = end + 1;
  end = tokenEnd(line, i);
  const ident = line.slice(i, end);
  expectSpace(line, end, 'user field');
  i = end + 1;
  let user: string;
  if (line.charCodeAt(i) === 34) {
    [user, i] = quoted(line, i, 'user');
  } else {
    end = tokenEnd(line, i);
    user = line.slice(i, end);
    i = end;
  }
  expectSpace(line, i, '[time]');
  i++;
  if (line.charCodeAt(i) !== 91) reject(`access log line has no [time] at column ${i + 1} (found ${JSON.stringify(line.slice(i, i + 12))})`);
  const [timestamp, afterTime] = accessTime(line, i);
  i = afterTime;
  expectSpace(line, i, 'request');
  i++;
  if (line.charCodeAt(i) !== 34) reject(`access log request at column ${i + 1} is not quoted`);
  const [request, afterRequest] = quoted(line, i, 'request');
  i = afterRequest;
  expectSpace(line, i, 'status code');
  i++;
  end = tokenEnd(line, i);
  const status = line.slice(i, end);
  if (status !== '-' && !STATUS.test(status)) reject(`access log status ${JSON.stringify(status.slice(0, 20))} is not a three-digit HTTP status`);
  expectSpace(line, end, 'response size');
  i = end + 1;
  end = tokenEnd(line, i);
  const bytes = line.slice(i, end);
  if (bytes !== '-' && !BYTES.test(bytes)) reject(`access log response size ${JSON.stringify(bytes.slice(0, 20))} is not a number of bytes`);
  i = end;

  let referrer: string | undefined;
  let agent: string | undefined;
  let trailing: string | undefined;
  if (i < line.length) {
    expectSpace(line, i, 'referrer');
    i++;
    if (line.charCodeAt(i) === 34) {
      [referrer, i] = quoted(line, i, 'referrer');
      expectSpace(line, i, 'user agent');
      i++;
      if (line.charCodeAt(i) !== 34) reject(`access log user agent at column ${i + 1} is not quoted`);
      [agent, i] = quoted(line, i, 'user agent');
    }
    // Servers often append fields (forwarded-for, timings): kept, since the format cannot say what they are.
    if (i < line.length) {
      trailing = line.slice(line.charCodeAt(i) === 32 ? i + 1 : i);
      checkFieldSize('trailing access log fields', trailing);
    }
  }

  const e: Event = {
    timestamp,
    event: { kind: 'event', category: ['web'], type: ['access'] },
    raw: record,
  };
  const statusCode = status === '-' ? 0 : Number(status);
  e.event!.outcome = statusCode === 0 ? 'unknown' : statusCode >= 400 ? 'failure' : 'success';

  checkFieldSize('client address', client);
  const ip = normalizeIp(client);
  if (ip) e.source = { ip };
  else {
    const m = IPV4_PORT.exec(client);
    if (m && normalizeIp(m[1])) {
      e.source = { ip: m[1]! };
      const port = Number(m[2]);
      if (port > 0 && port <= 65535) e.source.port = port;
    }
    else if (client !== '-') e.source = { domain: client };
  }
  if (user && user !== '-') {
    checkFieldSize('user', user);
    e.user = { name: user };
  }

  const http: NonNullable<Event['http']> = {};
  e.http = http;
  if (statusCode) http.response_status_code = statusCode;
  if (bytes !== '-') http.response_bytes = Number(bytes);
  if (referrer && referrer !== '-') http.request_referrer = referrer;
  if (agent && agent !== '-') e.user_agent = { original: agent };

  const access: Record<string, string> = {};
  let hasAccess = false;
  if (request && request !== '-') {
    const first = request.indexOf(' ');
    const last = request.lastIndexOf(' ');
    const method = first > 0 ? request.slice(0, first) : '';
    const proto = last > first ? PROTOCOL.exec(request.slice(last + 1)) : null;
    if (first > 0 && METHOD.test(method)) {
      http.request_method = method.toUpperCase();
      const target = proto ? request.slice(first + 1, last) : request.slice(first + 1);
      if (proto) http.version = proto[1];
      if (target) setUrl(e, target);
    } else {
      // Not an HTTP request line (a TLS handshake sent to a plain port, a scanner's junk): kept as sent.
      access.request_line = request;
      hasAccess = true;
    }
  }
  if (ident && ident !== '-') { access.ident = ident; hasAccess = true; }
  if (trailing) { access.trailing = trailing; hasAccess = true; }
  if (hasAccess) e.extra_json = JSON.stringify({ access });
  return [e];
}

/** One access-log line (NCSA common or combined, as Apache and Nginx write them) to one web event. */
export const parseAccess = guarded('access log', (record) => parse(record));
