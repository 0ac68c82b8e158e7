// Syslog lines (RFC 3164 / BSD and RFC 5424) to events; the header here, authentication messages in linux-auth.ts.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { checkFieldSize, checkKey, codePoint, dict, guarded, rejectNul, stripLineEnd, table } from './guard.js';
import { applyAuth, authOf, pamTag } from './linux-auth.js';
import { normalizeHost, toUtc } from './util.js';

const FACILITIES = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'security', 'console', 'solaris-cron',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];
const SEVERITIES = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'informational', 'debug'];
const MONTHS = table<number>({ Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 });
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

// Sticky patterns, tried at the cursor: "Oct 11 22:14:15" (with an optional year or fraction) and RFC 3339.
const BSD_TIME = /([A-Z][a-z]{2}) {1,2}(\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?= |$)/y;
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})(?= |$)/y;
const VERSION_5424 = /[1-9]\d{0,2} /y;
// A BSD tag: program name, optional [pid], then a colon.
const TAG = /([^\s[\]:]{1,128})(?:\[([^\]\s]{0,128})\])?:(?: |$)/y;
const DIGITS = /^\d{1,10}$/;
const RFC3339_STRICT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?$/;

/** What the syslog header says, before the message is interpreted. */
export interface SyslogHeader {
  /** 0-191, or -1 when the line has no <PRI> (a line copied from a log file). */
  priority: number;
  timestamp?: string;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  version?: number;
  structuredData?: Record<string, Record<string, string>>;
  message: string;
}

function reject(reason: string): never {
  throw new ValidationError(reason);
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function daysIn(year: number, month: number): number {
  if (month === 1 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return 29;
  return DAYS_IN_MONTH[month]!;
}

let cachedReceivedMs = NaN;
let cachedYear = 0;

/**
 * A BSD timestamp has neither year nor zone: it is read as UTC, in the year (of the one before, this and
 * the next around ctx.receivedMs) that puts it nearest to when it was received, so December lines received
 * on 1 January land in the old year and clocks slightly ahead on 31 December land in the new one.
 */
function bsdTime(month: number, day: number, year: number | undefined, h: number, mi: number, s: number, frac: string | undefined, receivedMs: number): string {
  if (h > 23 || mi > 59 || s > 59) reject(`syslog timestamp ${pad2(h)}:${pad2(mi)}:${pad2(s)} is not a time of day`);
  if (day < 1 || day > 31) reject(`syslog timestamp day ${day} is not a day of the month`);
  let y: number;
  if (year !== undefined) {
    if (day > daysIn(year, month)) reject(`syslog timestamp ${year}-${pad2(month + 1)}-${pad2(day)} is not a date`);
    y = year;
  } else {
    if (receivedMs !== cachedReceivedMs) {
      cachedReceivedMs = receivedMs;
      cachedYear = new Date(receivedMs).getUTCFullYear();
    }
    let best = NaN;
    let bestDistance = Infinity;
    for (let cand = cachedYear - 1; cand <= cachedYear + 1; cand++) {
      if (day > daysIn(cand, month)) continue;
      const d = Math.abs(Date.UTC(cand, month, day, h, mi, s) - receivedMs);
      if (d < bestDistance) { bestDistance = d; best = cand; }
    }
    if (Number.isNaN(best)) reject(`syslog timestamp day ${day} does not exist in month ${month + 1}`);
    y = best;
  }
  const yyyy = y >= 1000 ? String(y) : String(y).padStart(4, '0');
  return `${yyyy}-${pad2(month + 1)}-${pad2(day)}T${pad2(h)}:${pad2(mi)}:${pad2(s)}${frac ? `.${frac}` : ''}Z`;
}

/** The end of a header token (a run of printable characters); rejects control characters inside it. */
function tokenEnd(line: string, i: number, what: string): number {
  const n = line.length;
  let j = i;
  while (j < n) {
    const c = line.charCodeAt(j);
    if (c === 32) break;
    if (c < 32 || c === 127) reject(`control character ${codePoint(line, j)} in the syslog ${what} at column ${j + 1}`);
    j++;
  }
  return j;
}

function nilOr(v: string): string | undefined {
  return v === '-' ? undefined : v;
}

/** RFC 5424 STRUCTURED-DATA at i: returns the elements and the index after them. */
function structuredData(line: string, i: number): [Record<string, Record<string, string>> | undefined, number] {
  const n = line.length;
  if (line.charCodeAt(i) === 45 /* - */) return [undefined, i + 1];
  if (line.charCodeAt(i) !== 91 /* [ */) reject(`RFC 5424 structured data at column ${i + 1} must be "-" or start with "["`);
  const sd = dict<Record<string, string>>();
  while (i < n && line.charCodeAt(i) === 91) {
    let j = i + 1;
    while (j < n) {
      const c = line.charCodeAt(j);
      if (c === 32 || c === 93 /* ] */) break;
      if (c < 33 || c === 127 || c === 61 || c === 34) reject(`RFC 5424 structured data ID at column ${i + 2} holds ${codePoint(line, j)}, which it cannot`);
      j++;
    }
    if (j >= n) reject(`truncated RFC 5424 structured data: element starting at column ${i + 1} is not closed with "]"`);
    const id = line.slice(i + 1, j);
    if (!id) reject(`RFC 5424 structured data element at column ${i + 1} has no ID`);
    checkKey(id, 'RFC 5424 structured data');
    const params = sd[id] ?? dict<string>();
    sd[id] = params;
    i = j;
    for (;;) {
      if (i >= n) reject(`truncated RFC 5424 structured data: element [${id}] is not closed with "]"`);
      const c = line.charCodeAt(i);
      if (c === 93) { i++; break; }
      if (c !== 32) reject(`RFC 5424 structured data element [${id}] has ${codePoint(line, i)} at column ${i + 1} where a space or "]" belongs`);
      const eq = line.indexOf('=', i + 1);
      if (eq < 0) reject(`truncated RFC 5424 structured data: parameter of [${id}] at column ${i + 2} has no value`);
      const name = line.slice(i + 1, eq);
      if (!name || /[\s\]"]/.test(name)) reject(`RFC 5424 structured data element [${id}] has a malformed parameter name ${JSON.stringify(name.slice(0, 40))}`);
      checkKey(name, `RFC 5424 structured data element [${id}]`);
      if (line.charCodeAt(eq + 1) !== 34) reject(`RFC 5424 parameter ${id}.${name} must be a quoted string`);
      // Scan to the closing quote; only \" \\ and \] are escapes, any other backslash is kept as written.
      let k = eq + 2;
      let value = '';
      let from = k;
      for (;;) {
        if (k >= n) reject(`truncated RFC 5424 structured data: value of ${id}.${name} is not closed with a quote`);
        const ch = line.charCodeAt(k);
        if (ch === 34) break;
        if (ch === 92 && k + 1 < n) {
          const next = line.charCodeAt(k + 1);
          if (next === 34 || next === 92 || next === 93) {
            value += line.slice(from, k);
            from = k + 1;
            k += 2;
            continue;
          }
        }
        k++;
      }
      value += line.slice(from, k);
      checkFieldSize(`RFC 5424 parameter ${id}.${name}`, value);
      params[name] = value;
      i = k + 1;
    }
  }
  return [sd, i];
}

function rfc5424(line: string, i: number, priority: number): SyslogHeader {
  const n = line.length;
  const vEnd = line.indexOf(' ', i);
  const version = Number(line.slice(i, vEnd));
  const fields: string[] = [];
  const names = ['TIMESTAMP', 'HOSTNAME', 'APP-NAME', 'PROCID', 'MSGID'];
  let j = vEnd + 1;
  for (const what of names) {
    if (j >= n) reject(`truncated RFC 5424 header: ${what} is missing`);
    const end = tokenEnd(line, j, what);
    if (end === j) reject(`RFC 5424 ${what} at column ${j + 1} is empty (a nil value is written "-")`);
    fields.push(line.slice(j, end));
    if (end >= n) reject(`truncated RFC 5424 header: nothing follows the ${what}`);
    j = end + 1;
  }
  const [ts, host, app, procId, msgId] = fields as [string, string, string, string, string];
  const h: SyslogHeader = { priority, version, message: '' };
  if (ts !== '-') {
    const t = RFC3339_STRICT.test(ts) ? toUtc(ts) : undefined;
    if (!t) reject(`RFC 5424 timestamp ${JSON.stringify(ts.slice(0, 40))} is not an RFC 3339 time`);
    h.timestamp = t;
  }
  h.hostname = nilOr(host);
  h.appName = nilOr(app);
  h.procId = nilOr(procId);
  h.msgId = nilOr(msgId);
  const [sd, after] = structuredData(line, j);
  h.structuredData = sd;
  if (after < n) {
    if (line.charCodeAt(after) !== 32) reject(`RFC 5424 structured data is followed by ${codePoint(line, after)} at column ${after + 1} instead of a space`);
    let msg = line.slice(after + 1);
    // RFC 5424 marks a UTF-8 message with a byte order mark; it is framing, not text.
    if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
    h.message = msg;
  }
  return h;
}

/**
 * Parses the syslog header of a line. With `headerOnly` (the prefix before a CEF payload), nothing needs
 * to follow the timestamp and host.
 */
export function parseSyslogHeader(line: string, receivedMs: number, headerOnly = false): SyslogHeader {
  const n = line.length;
  let i = 0;
  let priority = -1;
  if (line.charCodeAt(0) === 60 /* < */) {
    const close = line.indexOf('>');
    const digits = close > 0 ? line.slice(1, close) : '';
    if (close < 0 || close > 4 || !/^\d{1,3}$/.test(digits)) reject(`syslog priority must be "<" 1-3 digits ">", found ${JSON.stringify(line.slice(0, 6))}`);
    priority = Number(digits);
    if (priority > 191) reject(`syslog priority ${priority} is over 191 (facility 23, severity 7)`);
    i = close + 1;
    VERSION_5424.lastIndex = i;
    if (VERSION_5424.test(line)) return rfc5424(line, i, priority);
  }
  const h: SyslogHeader = { priority, message: '' };
  BSD_TIME.lastIndex = i;
  const bsd = BSD_TIME.exec(line);
  if (bsd) {
    const month = MONTHS[bsd[1]!];
    if (month === undefined) reject(`syslog timestamp month ${JSON.stringify(bsd[1])} is not a month name`);
    h.timestamp = bsdTime(month, Number(bsd[2]), bsd[3] === undefined ? undefined : Number(bsd[3]),
      Number(bsd[4]), Number(bsd[5]), Number(bsd[6]), bsd[7], receivedMs);
    i = BSD_TIME.lastIndex;
  } else {
    ISO_TIME.lastIndex = i;
    const iso = ISO_TIME.exec(line);
    if (iso) {
      const t = toUtc(iso[0]);
      if (!t) reject(`syslog timestamp ${iso[0]} is not a valid time`);
      h.timestamp = t;
      i = ISO_TIME.lastIndex;
    } else if (priority < 0) {
      reject(`not a syslog line: expected "<priority>" or a timestamp such as "Oct 11 22:14:15" at the start, found ${JSON.stringify(line.slice(0, 24))}`);
    }
  }
  if (h.timestamp) {
    if (i >= n) {
      if (headerOnly) return h;
      reject('truncated syslog line: nothing follows the timestamp');
    }
    i++; // the space after the timestamp (the lookahead guaranteed it)
  }
  while (i < n && line.charCodeAt(i) === 32) i++;
  if (i >= n) {
    if (headerOnly) return h;
    reject('truncated syslog line: no host, tag or message after the header');
  }
  // HOSTNAME unless the next token is already the tag (local senders leave the host out).
  TAG.lastIndex = i;
  let tag = TAG.exec(line);
  if (!tag || tag.index !== i) {
    const end = tokenEnd(line, i, 'HOSTNAME');
    h.hostname = line.slice(i, end);
    i = end + 1;
    if (headerOnly) return h;
    TAG.lastIndex = i;
    tag = i < n ? TAG.exec(line) : null;
  }
  if (tag) {
    h.appName = tag[1];
    if (tag[2]) h.procId = tag[2];
    i = TAG.lastIndex;
  }
  h.message = i < n ? line.slice(i) : '';
  return h;
}

// ---------------------------------------------------------------- the parser

/** The ECS log.syslog fields a priority stands for. */
export function syslogPriority(priority: number): Record<string, unknown> {
  const facility = priority >> 3;
  const severity = priority & 7;
  return { priority, facility: { code: facility, name: FACILITIES[facility] }, severity: { code: severity, name: SEVERITIES[severity] } };
}

function parse(record: string, receivedMs: number): Event[] {
  rejectNul(record, 'syslog line');
  const line = stripLineEnd(record.charCodeAt(0) === 0xfeff ? record.slice(1) : record);
  if (line.length === 0) reject('empty syslog line');
  const h = parseSyslogHeader(line, receivedMs);
  checkFieldSize('syslog message', h.message);

  const e: Event = { event: { kind: 'event', module: 'syslog' }, raw: record };
  if (h.timestamp) e.timestamp = h.timestamp;
  const syslog: Record<string, unknown> = h.priority >= 0 ? syslogPriority(h.priority) : {};
  if (h.priority >= 0) e.event!.severity = h.priority & 7;
  if (h.version !== undefined) syslog.version = h.version;
  if (h.msgId !== undefined) syslog.msgid = h.msgId;
  if (h.structuredData) syslog.structured_data = h.structuredData;
  if (h.hostname) {
    const host = normalizeHost(h.hostname);
    if (host) e.host = { name: host };
  }
  // Old PAM spelling: the tag "sshd(pam_unix)" names the program and the PAM module.
  const pam = h.appName ? pamTag(h.appName) : undefined;
  if (h.appName || h.procId) {
    e.process = {};
    if (h.appName) e.process.name = pam ? pam.service : h.appName;
    if (h.procId) {
      if (DIGITS.test(h.procId)) e.process.pid = Number(h.procId);
      else syslog.procid = h.procId;
    }
  }
  if (h.message) e.message = h.message;
  const extra: Record<string, unknown> = {};
  let hasExtra = false;
  for (const _ in syslog) { extra.log = { syslog }; hasExtra = true; break; }
  const auth = h.message ? authOf(h.appName, h.message, pam) : undefined;
  if (auth) {
    applyAuth(e, auth, extra);
    if (extra.system) hasExtra = true;
  }
  if (hasExtra) e.extra_json = JSON.stringify(extra);
  return [e];
}

/** One syslog line (RFC 3164 or RFC 5424, with or without a trailing newline) to one event. */
export const parseSyslog = guarded('syslog', (record, ctx) => parse(record, ctx.receivedMs));
