// ArcSight Common Event Format (CEF) records, bare or behind a syslog header, to events.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { checkFieldSize, checkKey, codePoint, dict, guarded, rejectNul, stripLineEnd, table } from './guard.js';
import { type SyslogHeader, parseSyslogHeader, syslogPriority } from './syslog.js';
import { normalizeHost, normalizeIp, toUtc } from './util.js';

// CEF escapes line breaks inside values (\n), so a raw control character means a broken record.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const KEY = /(?:^|\s)([A-Za-z0-9_.\-[\]]+)=/g;
const HEADER_FIELDS = ['version', 'device vendor', 'device product', 'device version', 'signature ID', 'name', 'severity'];
const SEVERITY_WORDS = table<number>({ low: 3, medium: 6, high: 8, 'very-high': 10 });
const CEF_TIME = /^([A-Z][a-z]{2}) (\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(?: (Z|UTC|GMT|[+-]\d{2}:?\d{2}))?$/;
const MONTHS = table<number>({ Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 });
const SUCCESS = /^(?:success|succeeded|successful|allow|allowed|accept|accepted|ok|pass|passed)$/i;
const FAILURE = /^(?:fail|failed|failure|deny|denied|block|blocked|drop|dropped|reject|rejected)$/i;

function reject(reason: string): never {
  throw new ValidationError(reason);
}

/** Reads the 7 pipe-separated header fields after "CEF:"; \| and \\ are the escapes there. */
function header(line: string, i: number): [string[], number] {
  const fields: string[] = [];
  const n = line.length;
  let value = '';
  let from = i;
  let k = i;
  while (fields.length < 7) {
    if (k >= n) reject(`truncated CEF header: ${fields.length} of its 7 fields end with "|", the ${HEADER_FIELDS[fields.length]} does not`);
    const c = line.charCodeAt(k);
    if (c === 124 /* | */) {
      value += line.slice(from, k);
      checkFieldSize(`CEF ${HEADER_FIELDS[fields.length]}`, value);
      fields.push(value);
      value = '';
      from = k + 1;
    } else if (c === 92 /* \ */ && k + 1 < n) {
      const next = line.charCodeAt(k + 1);
      if (next === 124 || next === 92) {
        value += line.slice(from, k);
        from = k + 1;
        k++;
      }
    }
    k++;
  }
  return [fields, k];
}

function unescapeValue(v: string): string {
  if (v.indexOf('\\') < 0) return v;
  return v.replace(/\\([=\\nr|])/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

/** The extension: key=value pairs separated by spaces, a value running up to the next " key=". */
function extension(ext: string): Record<string, string> {
  const out = dict<string>();
  KEY.lastIndex = 0;
  let m = KEY.exec(ext);
  if (!m) {
    if (ext.trim()) reject(`CEF extension ${JSON.stringify(ext.slice(0, 40))} holds no key=value pair`);
    return out;
  }
  if (ext.slice(0, m.index).trim()) reject(`CEF extension starts with ${JSON.stringify(ext.slice(0, Math.min(m.index, 40)))}, which is not a key=value pair`);
  while (m) {
    const key = m[1]!;
    checkKey(key, 'CEF extension');
    const start = KEY.lastIndex;
    const next = KEY.exec(ext);
    const raw = next ? ext.slice(start, next.index) : ext.slice(start).trimEnd();
    const value = unescapeValue(raw);
    checkFieldSize(`CEF extension ${key}`, value);
    out[key] = value;
    m = next;
  }
  return out;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** rt / start / end: epoch milliseconds or "MMM dd yyyy HH:mm:ss[.SSS] [zone]". Undefined when unreadable. */
function cefTime(v: string, receivedMs: number): string | undefined {
  if (/^\d{10,16}$/.test(v)) return toUtc(Number(v));
  const m = CEF_TIME.exec(v);
  if (!m) return toUtc(v);
  const month = MONTHS[m[1]!];
  if (month === undefined) return undefined;
  const year = m[3] ? Number(m[3]) : new Date(receivedMs).getUTCFullYear();
  let offsetMin = 0;
  const zone = m[8];
  if (zone && zone[0] !== 'Z' && zone !== 'UTC' && zone !== 'GMT') {
    const digits = zone.slice(1).replace(':', '');
    offsetMin = (zone[0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const local = Date.UTC(year, month, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number.isNaN(local) || new Date(local).getUTCDate() !== Number(m[2])) return undefined;
  const d = new Date(local - offsetMin * 60_000);
  const base = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
  return m[7] ? `${base}.${m[7]}Z` : `${base}Z`;
}

function port(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,5}$/.test(v)) return undefined;
  const p = Number(v);
  return p > 0 && p <= 65535 ? p : undefined;
}

function endpoint(e: Event, side: 'source' | 'destination', addr: string | undefined, p: string | undefined, host: string | undefined, mac: string | undefined): void {
  if (!addr && !p && !host && !mac) return;
  const ep = (e[side] ??= {});
  if (addr) {
    const ip = normalizeIp(addr);
    if (ip) ep.ip = ip; else ep.address = addr;
  }
  const n = port(p);
  if (n) ep.port = n;
  if (host) ep.domain = host;
  if (mac) ep.mac = mac;
}

function parse(record: string, receivedMs: number): Event[] {
  rejectNul(record, 'CEF record');
  const line = stripLineEnd(record.charCodeAt(0) === 0xfeff ? record.slice(1) : record);
  const bad = CONTROL.exec(line);
  if (bad) reject(`control character ${codePoint(line, bad.index)} at column ${bad.index + 1}: CEF escapes line breaks, so the record is broken`);
  let at = 0;
  let sys: SyslogHeader | undefined;
  if (!line.startsWith('CEF:')) {
    const k = line.indexOf(' CEF:');
    if (k < 0) reject('not a CEF record: no "CEF:" header');
    at = k + 1;
    try {
      sys = parseSyslogHeader(line.slice(0, k), receivedMs, true);
    } catch (err) {
      if (err instanceof ValidationError) reject(`the text before "CEF:" is not a syslog header: ${err.message}`);
      throw err;
    }
  }
  const [h, after] = header(line, at + 4);
  const [version, vendor, product, deviceVersion, signature, name, severity] = h as [string, string, string, string, string, string, string];
  if (!/^\d{1,3}$/.test(version)) reject(`CEF version ${JSON.stringify(version.slice(0, 20))} is not a number`);
  const ext = extension(line.slice(after));

  const e: Event = { event: { kind: 'event', module: 'cef' }, raw: record };
  const meta = e.event!;
  if (sys?.timestamp) e.timestamp = sys.timestamp;
  if (signature) meta.code = signature;
  const sevNum = /^\d{1,2}$/.test(severity) ? Number(severity) : SEVERITY_WORDS[severity.toLowerCase()];
  if (sevNum !== undefined) meta.severity = sevNum;
  const observer: NonNullable<Event['observer']> = {};
  if (vendor) observer.vendor = vendor;
  if (product) observer.product = product;
  const dvchost = normalizeHost(ext.dvchost);
  if (dvchost) observer.hostname = dvchost;
  for (const _ in observer) { e.observer = observer; break; }
  const host = normalizeHost(sys?.hostname) ?? dvchost;
  if (host) e.host = { name: host };

  const rt = ext.rt ?? ext.end ?? ext.start;
  if (rt) {
    const t = cefTime(rt, receivedMs);
    if (t) e.timestamp = t;
  }
  const message = ext.msg || name;
  if (message) e.message = message;
  if (ext.act) meta.action = ext.act;
  if (ext.outcome) meta.outcome = SUCCESS.test(ext.outcome) ? 'success' : FAILURE.test(ext.outcome) ? 'failure' : 'unknown';

  endpoint(e, 'source', ext.src ?? ext.c6a2, ext.spt, ext.shost, ext.smac);
  endpoint(e, 'destination', ext.dst ?? ext.c6a3, ext.dpt, ext.dhost, ext.dmac);
  const bytesIn = ext.in && /^\d{1,15}$/.test(ext.in) ? Number(ext.in) : undefined;
  const bytesOut = ext.out && /^\d{1,15}$/.test(ext.out) ? Number(ext.out) : undefined;
  if (bytesIn) (e.source ??= {}).bytes = bytesIn;
  if (bytesOut) (e.destination ??= {}).bytes = bytesOut;

  const net: NonNullable<Event['network']> = {};
  if (ext.proto) net.transport = ext.proto.toLowerCase();
  if (ext.app) net.protocol = ext.app.toLowerCase();
  if (ext.deviceDirection === '0') net.direction = 'inbound';
  else if (ext.deviceDirection === '1') net.direction = 'outbound';
  for (const _ in net) { e.network = net; break; }
  // Traffic between two addresses (firewall, IDS, proxy records) is a network connection, so network rules see it.
  if (e.source?.ip && e.destination?.ip) {
    meta.category = ['network'];
    meta.type = ['connection'];
  }

  if (ext.suser || ext.suid) {
    e.user = {};
    if (ext.suser) e.user.name = ext.suser;
    if (ext.suid) e.user.id = ext.suid;
    if (ext.sntdom) e.user.domain = ext.sntdom;
  }
  if (ext.duser || ext.duid) {
    const t: NonNullable<NonNullable<Event['user']>['target']> = {};
    if (ext.duser) t.name = ext.duser;
    if (ext.duid) t.id = ext.duid;
    if (ext.dntdom) t.domain = ext.dntdom;
    (e.user ??= {}).target = t;
  }
  if (ext.sproc || ext.spid) {
    e.process = {};
    if (ext.sproc) e.process.name = ext.sproc;
    if (ext.spid && /^\d{1,10}$/.test(ext.spid)) e.process.pid = Number(ext.spid);
  }
  if (ext.fname || ext.filePath) {
    e.file = {};
    if (ext.fname) e.file.name = ext.fname;
    if (ext.filePath) e.file.path = ext.filePath;
    if (ext.fsize && /^\d{1,15}$/.test(ext.fsize)) e.file.size = Number(ext.fsize);
  }
  if (ext.request) {
    const url: NonNullable<Event['url']> = { original: ext.request };
    const q = ext.request.indexOf('?');
    const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/:?#]*)(?::(\d{1,5}))?([^?#]*)/.exec(ext.request);
    if (m) {
      url.scheme = m[1]!.toLowerCase();
      if (m[2]) url.domain = m[2].toLowerCase();
      const p = port(m[3]);
      if (p) url.port = p;
      if (m[4]) url.path = m[4];
    } else if (ext.request.startsWith('/')) {
      url.path = q < 0 ? ext.request : ext.request.slice(0, q);
    }
    if (q >= 0) url.query = ext.request.slice(q + 1);
    e.url = url;
  }
  if (ext.requestMethod || ext.requestClientApplication) {
    if (ext.requestMethod) e.http = { request_method: ext.requestMethod.toUpperCase() };
    if (ext.requestClientApplication) e.user_agent = { original: ext.requestClientApplication };
  }

  const extra: Record<string, unknown> = {
    cef: {
      version: Number(version),
      device: { vendor, product, version: deviceVersion, event_class_id: signature },
      name,
      severity,
      extensions: ext,
    },
  };
  if (sys && sys.priority >= 0) extra.log = { syslog: syslogPriority(sys.priority) };
  e.extra_json = JSON.stringify(extra);
  return [e];
}

/** One CEF record, bare ("CEF:0|...") or after a syslog header, to one event. */
export const parseCef = guarded('CEF', (record, ctx) => parse(record, ctx.receivedMs));
