// Syslog lines (RFC 3164 / BSD and RFC 5424) to events; sshd, sudo and su messages become authentication events.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { checkFieldSize, codePoint, dict, guarded, rejectNul, stripLineEnd, table } from './guard.js';
import { normalizeHost, normalizeIp, toUtc } from './util.js';

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

// ---------------------------------------------------------------- authentication messages

interface Auth {
  action: string;
  outcome: 'success' | 'failure' | 'unknown';
  type: string;
  user?: string;
  target?: string;
  address?: string;
  port?: string;
  extra?: Record<string, unknown>;
}

const SSH_ACCEPTED = /^Accepted (\S+) for (.*) from (\S+) port (\d{1,5})(?: ssh2)?(?:: (.*))?$/;
const SSH_FAILED = /^Failed (\S+) for (invalid user )?(.*) from (\S+) port (\d{1,5})(?: ssh2)?(?: \[preauth\])?$/;
const SSH_INVALID = /^Invalid user (.*) from (\S+)(?: port (\d{1,5}))?(?: \[preauth\])?$/;
const SSH_MAXAUTH = /^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d{1,5})(?: ssh2)?(?: \[preauth\])?$/;
const SSH_DISCONNECTING = /^Disconnecting (?:(invalid|authenticating) user (.*) )?(\S+) port (\d{1,5}): (.*?)(?: \[preauth\])?$/;
const SSH_TOO_MANY_OLD = /^Disconnecting: Too many authentication failures(?: for (invalid user )?(.*?))?(?: \[preauth\])?$/;
const SSH_DISCONNECTED = /^Disconnected from (?:(invalid|authenticating) )?(?:user (.*) )?(\S+) port (\d{1,5})( \[preauth\])?$/;
const SSH_RECEIVED = /^Received disconnect from (\S+?)(?: port (\d{1,5}))?:\s?(\d+): (.*?)( \[preauth\])?$/;
// Lazy user: port and [preauth] are optional here, so a greedy user would swallow the address.
const SSH_CLOSED = /^Connection closed by (?:(invalid|authenticating) )?(?:user (.*?) )?(\S+)(?: port (\d{1,5}))?( \[preauth\])?$/;
const SSH_NOT_ALLOWED = /^User (.*) from (\S+) not allowed because (.*)$/;
const SSH_PAM_ERROR = /^error: PAM: Authentication failure for (?:(?:illegal|invalid) user )?(.*) from (\S+)$/;
const PAM_FAILURE = /^pam_unix\(([^:()\s]+):auth\): authentication failure;(.*)$/;
const PAM_MORE = /^PAM (\d+) more authentication failures?;(.*)$/;
const PAM_KV = /(\w+)=(\S*)/g;
const SU_SESSION = /^pam_unix\((su(?:-l)?):session\): session opened for user (\S+?)(?:\(uid=\d+\))? by (\S*?)(?:\(uid=\d+\))?$/;
const SU_SHADOW = /^(Successful|FAILED) su for (\S+) by (\S+)$/;
const SU_SHADOW_SHORT = /^([+-]) (\S+) (\S+?):(\S+)$/;
const SU_UTIL = /^(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)$/;
const SUDO = /^\s*(\S+) : (.*)$/;

const PAM_ACTIONS = table<string>({ sshd: 'ssh_login', sudo: 'sudo', su: 'su', 'su-l': 'su', login: 'login' });

function pamFields(s: string): Record<string, string> {
  const out = dict<string>();
  PAM_KV.lastIndex = 0;
  for (let m = PAM_KV.exec(s); m; m = PAM_KV.exec(s)) out[m[1]!] = m[2]!;
  return out;
}

function pamAuth(service: string, rest: string): Auth {
  const kv = pamFields(rest);
  const a: Auth = { action: PAM_ACTIONS[service] ?? service, outcome: 'failure', type: 'info', address: kv.rhost || undefined };
  // For su the PAM "user" is the account switched to; the person is the requesting "ruser".
  if (a.action === 'su') { a.user = kv.ruser || kv.logname || undefined; a.target = kv.user || undefined; }
  else a.user = kv.user || undefined;
  return a;
}

function sshd(msg: string): Auth | undefined {
  let m: RegExpExecArray | null;
  switch (msg.charCodeAt(0)) {
    case 65: // A
      if ((m = SSH_ACCEPTED.exec(msg))) {
        return { action: 'ssh_login', outcome: 'success', type: 'start', user: m[2], address: m[3], port: m[4],
          extra: { ssh: { method: m[1], ...(m[5] ? { signature: m[5] } : {}) } } };
      }
      break;
    case 70: // F
      if ((m = SSH_FAILED.exec(msg))) {
        return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[3], address: m[4], port: m[5],
          extra: { ssh: { method: m[1], ...(m[2] ? { invalid_user: true } : {}) } } };
      }
      break;
    case 73: // I
      if ((m = SSH_INVALID.exec(msg))) {
        return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[1], address: m[2], port: m[3], extra: { ssh: { invalid_user: true } } };
      }
      break;
    case 101: // e
      if ((m = SSH_MAXAUTH.exec(msg))) {
        return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[2], address: m[3], port: m[4],
          extra: { ssh: { max_attempts_exceeded: true, ...(m[1] ? { invalid_user: true } : {}) } } };
      }
      if ((m = SSH_PAM_ERROR.exec(msg))) return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[1], address: m[2] };
      break;
    case 109: // m
      if ((m = SSH_MAXAUTH.exec(msg))) {
        return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[2], address: m[3], port: m[4],
          extra: { ssh: { max_attempts_exceeded: true, ...(m[1] ? { invalid_user: true } : {}) } } };
      }
      break;
    case 68: // D
      if ((m = SSH_DISCONNECTED.exec(msg))) {
        // After authentication the session ended normally; before it ([preauth]) the client gave up.
        const pre = Boolean(m[5]);
        return { action: 'ssh_disconnect', outcome: pre ? (m[2] !== undefined ? 'failure' : 'unknown') : 'success', type: 'end',
          user: m[2], address: m[3], port: m[4], extra: { ssh: { preauth: pre } } };
      }
      if ((m = SSH_DISCONNECTING.exec(msg))) {
        const tooMany = m[5]!.startsWith('Too many authentication failures');
        return { action: tooMany ? 'ssh_login' : 'ssh_disconnect', outcome: 'failure', type: tooMany ? 'info' : 'end', user: m[2], address: m[3], port: m[4],
          extra: { ssh: { reason: m[5], ...(tooMany ? { max_attempts_exceeded: true } : {}) } } };
      }
      if ((m = SSH_TOO_MANY_OLD.exec(msg))) {
        return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[2] || undefined, extra: { ssh: { max_attempts_exceeded: true } } };
      }
      break;
    case 67: // C
      if ((m = SSH_CLOSED.exec(msg))) {
        const pre = Boolean(m[5]);
        return { action: 'ssh_disconnect', outcome: pre ? (m[2] !== undefined ? 'failure' : 'unknown') : 'success', type: 'end',
          user: m[2], address: m[3], port: m[4], extra: { ssh: { preauth: pre } } };
      }
      break;
    case 82: // R
      if ((m = SSH_RECEIVED.exec(msg))) {
        const pre = Boolean(m[5]);
        return { action: 'ssh_disconnect', outcome: pre ? 'unknown' : 'success', type: 'end', address: m[1], port: m[2],
          extra: { ssh: { preauth: pre, reason: m[4] } } };
      }
      break;
    case 80: // P
      if ((m = PAM_MORE.exec(msg))) {
        const a = pamAuth('sshd', m[2]!);
        a.extra = { pam: { more_failures: Number(m[1]) } };
        return a;
      }
      break;
    case 85: // U
      if ((m = SSH_NOT_ALLOWED.exec(msg))) {
        return { action: 'ssh_login', outcome: 'failure', type: 'info', user: m[1], address: m[2], extra: { ssh: { reason: `not allowed because ${m[3]}` } } };
      }
      break;
  }
  return undefined;
}

function sudo(msg: string): Auth | undefined {
  const m = SUDO.exec(msg);
  if (!m) return undefined;
  const rest = m[2]!;
  // COMMAND is always last and may itself hold " ; ", so it is cut off before splitting.
  let command: string | undefined;
  let head = rest;
  const c = rest.startsWith('COMMAND=') ? -3 : rest.indexOf(' ; COMMAND=');
  if (c !== -1) {
    command = rest.slice(c + 11);
    head = c < 0 ? '' : rest.slice(0, c);
  }
  const parts = head ? head.split(' ; ') : [];
  const info: Record<string, string> = dict<string>();
  let status: string | undefined;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    const eq = p.indexOf('=');
    if (eq > 0 && /^[A-Z_]+$/.test(p.slice(0, eq))) info[p.slice(0, eq).toLowerCase()] = p.slice(eq + 1);
    else if (k === 0) status = p;
    else return undefined;
  }
  if (command === undefined && !info.tty && !info.user) return undefined;
  if (command !== undefined) info.command = command;
  // Any text before TTY=... is sudo explaining a refusal: wrong password, not in sudoers, command not allowed.
  if (status) info.error = status;
  return { action: 'sudo', outcome: status ? 'failure' : 'success', type: status ? 'info' : 'start', user: m[1], target: info.user,
    extra: { sudo: info } };
}

function su(msg: string): Auth | undefined {
  let m: RegExpExecArray | null;
  if ((m = SU_SHADOW.exec(msg))) {
    const ok = m[1] === 'Successful';
    return { action: 'su', outcome: ok ? 'success' : 'failure', type: ok ? 'start' : 'info', user: m[3], target: m[2] };
  }
  if ((m = SU_UTIL.exec(msg))) {
    const ok = !m[1];
    return { action: 'su', outcome: ok ? 'success' : 'failure', type: ok ? 'start' : 'info', user: m[3], target: m[2], extra: { su: { tty: m[4] } } };
  }
  if ((m = SU_SHADOW_SHORT.exec(msg))) {
    const ok = m[1] === '+';
    return { action: 'su', outcome: ok ? 'success' : 'failure', type: ok ? 'start' : 'info', user: m[3], target: m[4], extra: { su: { tty: m[2] } } };
  }
  if ((m = SU_SESSION.exec(msg))) {
    return { action: 'su', outcome: 'success', type: 'start', user: m[3] || undefined, target: m[2] };
  }
  return undefined;
}

function authOf(app: string | undefined, msg: string): Auth | undefined {
  if (msg.startsWith('pam_unix(')) {
    const m = PAM_FAILURE.exec(msg);
    if (m) return pamAuth(m[1]!, m[2]!);
    if (app === 'su' || app === 'su-l') return su(msg);
    return undefined;
  }
  switch (app) {
    case 'sshd': case 'sshd-session': case 'sshd-auth': return sshd(msg);
    case 'sudo': return sudo(msg);
    case 'su': case 'su-l': return su(msg);
    default: return undefined;
  }
}

function applyAuth(e: Event, a: Auth, extra: Record<string, unknown>): void {
  const meta = e.event!;
  meta.category = ['authentication'];
  meta.type = [a.type];
  meta.action = a.action;
  meta.outcome = a.outcome;
  if (a.user !== undefined && a.user !== '') {
    e.user = { name: a.user };
    if (a.target) e.user.target = { name: a.target };
  } else if (a.target) {
    e.user = { target: { name: a.target } };
  }
  if (a.address) {
    const ip = normalizeIp(a.address);
    e.source = ip ? { ip } : { domain: a.address };
    if (a.port) {
      const port = Number(a.port);
      if (port > 0 && port <= 65535) e.source.port = port;
    }
  }
  if (a.extra) extra.system = { auth: a.extra };
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
  if (h.appName || h.procId) {
    e.process = {};
    if (h.appName) e.process.name = h.appName;
    if (h.procId) {
      if (DIGITS.test(h.procId)) e.process.pid = Number(h.procId);
      else syslog.procid = h.procId;
    }
  }
  if (h.message) e.message = h.message;
  const extra: Record<string, unknown> = {};
  let hasExtra = false;
  for (const _ in syslog) { extra.log = { syslog }; hasExtra = true; break; }
  const auth = h.message ? authOf(h.appName, h.message) : undefined;
  if (auth) {
    applyAuth(e, auth, extra);
    if (extra.system) hasExtra = true;
  }
  if (hasExtra) e.extra_json = JSON.stringify(extra);
  return [e];
}

/** One syslog line (RFC 3164 or RFC 5424, with or without a trailing newline) to one event. */
export const parseSyslog = guarded('syslog', (record, ctx) => parse(record, ctx.receivedMs));
