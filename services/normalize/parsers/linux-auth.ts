// Linux authentication messages in syslog (sshd, PAM in its old and new spellings, sudo, su, login, ftp) to ECS fields.
import type { Event } from '../../core/proto.js';
import { checkKey, dict, table } from './guard.js';
import { normalizeIp } from './util.js';

/** What an authentication message says, before it is written into the event. */
export interface Auth {
  action: string;
  outcome: 'success' | 'failure' | 'unknown';
  type: string;
  /** event.category; authentication unless said otherwise. */
  category?: string[];
  user?: string;
  target?: string;
  address?: string;
  port?: string;
  /** The remote host as the message gave it (an address or a name): also kept in source.address. */
  rawAddress?: boolean;
  extra?: Record<string, unknown>;
}

// Every pattern here runs on a message of up to MAX_FIELD_CHARS characters from the network. Those with
// ".*" carry the s flag: "." then also matches line breaks, so a trailing "(.*)$" cannot fail and send the
// engine back through every earlier " from " (quadratic time on a line of repeated " from x port 1: ").
const SSH_ACCEPTED = /^Accepted (\S+) for (.*) from (\S+) port (\d{1,5})(?: ssh2)?(?:: (.*))?$/s;
const SSH_FAILED = /^Failed (\S+) for (invalid user )?(.*) from (\S+) port (\d{1,5})(?: ssh2)?(?: \[preauth\])?$/s;
const SSH_INVALID = /^Invalid user (.*) from (\S+)(?: port (\d{1,5}))?(?: \[preauth\])?$/s;
const SSH_MAXAUTH = /^(?:error: )?maximum authentication attempts exceeded for (invalid user )?(.*) from (\S+) port (\d{1,5})(?: ssh2)?(?: \[preauth\])?$/s;
const SSH_DISCONNECTING = /^Disconnecting (?:(invalid|authenticating) user (.*) )?(\S+) port (\d{1,5}): (.*?)(?: \[preauth\])?$/s;
const SSH_TOO_MANY_OLD = /^Disconnecting: Too many authentication failures(?: for (invalid user )?(.*?))?(?: \[preauth\])?$/s;
const SSH_DISCONNECTED = /^Disconnected from (?:(invalid|authenticating) )?(?:user (.*) )?(\S+) port (\d{1,5})( \[preauth\])?$/s;
const SSH_RECEIVED = /^Received disconnect from (\S+?)(?: port (\d{1,5}))?:\s?(\d+): (.*?)( \[preauth\])?$/s;
// Lazy user: port and [preauth] are optional here, so a greedy user would swallow the address.
const SSH_CLOSED = /^Connection closed by (?:(invalid|authenticating) )?(?:user (.*?) )?(\S+)(?: port (\d{1,5}))?( \[preauth\])?$/s;
const SSH_NOT_ALLOWED = /^User (.*) from (\S+) not allowed because (.*)$/s;
const SSH_PAM_ERROR = /^error: PAM: Authentication failure for (?:(?:illegal|invalid) user )?(.*) from (\S+)$/s;
const SU_SHADOW = /^(Successful|FAILED) su for (\S+) by (\S+)$/;
// "- pts/0 alice:root": the user part holds no colon (a lazy \S+? there took quadratic time on a run of colons).
const SU_SHADOW_SHORT = /^([+-]) (\S+) ([^\s:]+):(\S+)$/;
const SU_UTIL = /^(FAILED SU )?\(to (\S+)\) (\S+) on (\S+)$/;
const SUDO = /^\s*(\S+) : (.*)$/s;

// PAM: "pam_unix(sshd:auth): ..." (module, service, management group) and the old tag "sshd(pam_unix)".
const PAM_PREFIX = /^(pam_[a-z0-9_]{1,32})\(([^:()\s]{1,64}):([a-z]{1,16})\): /;
const PAM_TAG = /^([^()\s]{1,64})\((pam_[a-z0-9_]{1,32})\)$/;
const PAM_MORE = /^(?:PAM )?(\d{1,6}) more authentication failures?;/;
const PAM_SESSION = /^session (opened|closed) for user ([^\s(]{1,256})(?:\(uid=\d{1,10}\))?(?: by ([^\s(]{0,256})(?:\(uid=\d{1,10}\))?)?\s*$/;
// login(1) from shadow-utils and util-linux, old and new.
const LOGIN_FAILED = /^FAILED LOGIN \(?(\d{1,6})\)?(?: on '?([^'\s]{1,256})'?)?(?: FROM '?([^'\s,]{1,256})'?)? FOR '?([^',]{0,256})'?, ?(.{0,512})$/s;
const LOGIN_ROOT = /^ROOT LOGIN +(?:ON|on) '?([^'\s]{1,256})'?(?: FROM '?([^'\s]{1,256})'?)?\s*$/;
const LOGIN_OK = /^LOGIN ON '?([^'\s]{1,256})'? BY '?([^'\s]{1,256})'?(?: FROM '?([^'\s]{1,256})'?)?\s*$/;
// ftpd (Loghub's wu-ftpd lines) and vsftpd.
const FTP_ANONYMOUS = /^ANONYMOUS FTP LOGIN FROM ([^\s,()]{1,256})(?:, \([^()]{0,256}\))?\s*$/;
const VSFTPD = /^(?:\[pid \d{1,10}\] )?\[([^\]]{0,256})\] (OK|FAIL) LOGIN: Client "([^"]{1,256})"/;

/** The action of an authentication through PAM, by PAM service; other services keep their own name. */
const PAM_ACTIONS = table<string>({
  sshd: 'ssh_login', 'sshd-session': 'ssh_login', sudo: 'sudo', su: 'su', 'su-l': 'su', login: 'login',
  vsftpd: 'ftp_login', ftpd: 'ftp_login', proftpd: 'ftp_login', 'pure-ftpd': 'ftp_login',
});

/** The service and PAM module of a tag in the old spelling ("sshd(pam_unix)"), or undefined. */
export function pamTag(app: string): { service: string; module: string } | undefined {
  const m = PAM_TAG.exec(app);
  return m ? { service: m[1]!, module: m[2]! } : undefined;
}

/**
 * The key=value fields of a PAM message ("logname= uid=0 euid=0 tty=ssh ruser= rhost=10.0.0.1  user=root"),
 * read by a scanner: the pattern /(\w+)=(\S*)/g took quadratic time on a long word without "=".
 */
export function pamFields(s: string): Record<string, string> {
  const out = dict<string>();
  const n = s.length;
  let i = 0;
  while (i < n) {
    while (i < n && s.charCodeAt(i) <= 32) i++;
    const start = i;
    while (i < n && s.charCodeAt(i) > 32) i++;
    const eq = s.indexOf('=', start);
    if (eq > start && eq < i) {
      const key = s.slice(start, eq);
      if (/^\w{1,32}$/.test(key)) {
        checkKey(key, 'PAM message');
        out[key] = s.slice(eq + 1, i);
      }
    }
  }
  return out;
}

function pamAuth(service: string, rest: string, module?: string): Auth {
  const kv = pamFields(rest);
  const a: Auth = { action: PAM_ACTIONS[service] ?? service, outcome: 'failure', type: 'info', address: kv.rhost || undefined, rawAddress: true };
  // For su the PAM "user" is the account switched to; the person is the requesting "ruser".
  if (a.action === 'su') { a.user = kv.ruser || kv.logname || undefined; a.target = kv.user || undefined; }
  else a.user = kv.user || undefined;
  if (module) {
    const pam: Record<string, string> = { module, service };
    if (kv.tty) pam.tty = kv.tty;
    if (kv.ruser) pam.ruser = kv.ruser;
    a.extra = { pam };
  }
  return a;
}

const NO_PASSWORD = 'auth could not identify password for [';

/** A message of a PAM module for a service, whichever spelling named them. */
function pamMessage(service: string, module: string, text: string): Auth | undefined {
  const action = PAM_ACTIONS[service] ?? service;
  if (text.startsWith('authentication failure;')) return pamAuth(service, text.slice(23), module);
  let m = PAM_MORE.exec(text);
  if (m) {
    const a = pamAuth(service, text.slice(m[0].length), module);
    (a.extra!.pam as Record<string, unknown>).more_failures = Number(m[1]);
    return a;
  }
  if (text.startsWith('check pass; user unknown')) {
    return { action, outcome: 'failure', type: 'info', extra: { pam: { module, service, reason: 'user unknown' } } };
  }
  if (text.startsWith(NO_PASSWORD)) {
    const end = text.indexOf(']', NO_PASSWORD.length);
    return { action, outcome: 'failure', type: 'info', user: end > NO_PASSWORD.length ? text.slice(NO_PASSWORD.length, end) : undefined,
      extra: { pam: { module, service, reason: 'could not identify password' } } };
  }
  m = PAM_SESSION.exec(text);
  if (m) {
    const opened = m[1] === 'opened';
    // su sessions are the switch of user itself: the caller is the user, the account switched to the target.
    if (action === 'su') return opened ? { action: 'su', outcome: 'success', type: 'start', user: m[3] || undefined, target: m[2] } : undefined;
    return { action: opened ? 'session_opened' : 'session_closed', category: ['session'], outcome: 'success', type: opened ? 'start' : 'end', user: m[2],
      extra: { pam: { module, service } } };
  }
  return undefined;
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
        // sshd's own summary ("PAM 5 more authentication failures; ..."), not a PAM module's line.
        const a = pamAuth('sshd', msg.slice(m[0].length));
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
    if (eq > 0 && /^[A-Z_]+$/.test(p.slice(0, eq))) {
      const key = p.slice(0, eq).toLowerCase();
      checkKey(key, 'sudo message');
      info[key] = p.slice(eq + 1);
    }
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
  return undefined;
}

function login(msg: string): Auth | undefined {
  let m: RegExpExecArray | null;
  if ((m = LOGIN_FAILED.exec(msg))) {
    return { action: 'login', outcome: 'failure', type: 'info', user: m[4] || undefined, address: m[3], rawAddress: true,
      extra: { login: { failures: Number(m[1]), ...(m[2] ? { tty: m[2] } : {}), ...(m[5] ? { reason: m[5].trimEnd() } : {}) } } };
  }
  if ((m = LOGIN_ROOT.exec(msg))) return { action: 'login', outcome: 'success', type: 'start', user: 'root', address: m[2], rawAddress: true, extra: { login: { tty: m[1] } } };
  if ((m = LOGIN_OK.exec(msg))) return { action: 'login', outcome: 'success', type: 'start', user: m[2], address: m[3], rawAddress: true, extra: { login: { tty: m[1] } } };
  return undefined;
}

function ftp(msg: string): Auth | undefined {
  let m: RegExpExecArray | null;
  if ((m = FTP_ANONYMOUS.exec(msg))) return { action: 'ftp_login', outcome: 'success', type: 'start', user: 'anonymous', address: m[1], rawAddress: true };
  if ((m = VSFTPD.exec(msg))) {
    const ok = m[2] === 'OK';
    return { action: 'ftp_login', outcome: ok ? 'success' : 'failure', type: ok ? 'start' : 'info', user: m[1] || undefined, address: m[3], rawAddress: true };
  }
  return undefined;
}

/**
 * The authentication an auth-log message reports, or undefined. `pam` is the old tag spelling
 * ("sshd(pam_unix)"), whose messages are the PAM module's own.
 */
export function authOf(app: string | undefined, msg: string, pam?: { service: string; module: string }): Auth | undefined {
  if (pam) return pamMessage(pam.service, pam.module, msg);
  if (msg.startsWith('pam_')) {
    const m = PAM_PREFIX.exec(msg);
    if (m) return pamMessage(m[2]!, m[1]!, msg.slice(m[0].length));
  }
  switch (app) {
    case 'sshd': case 'sshd-session': case 'sshd-auth': return sshd(msg);
    case 'sudo': return sudo(msg);
    case 'su': case 'su-l': return su(msg);
    case 'login': return login(msg);
    case 'ftpd': case 'vsftpd': return ftp(msg);
    default: return undefined;
  }
}

/** Writes an authentication into the event; its details go to `extra.system.auth`. */
export function applyAuth(e: Event, a: Auth, extra: Record<string, unknown>): void {
  const meta = e.event!;
  meta.category = a.category ?? ['authentication'];
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
    // Remote hosts come as addresses or as names (rhost=220-135-151-1.hinet-ip.hinet.net).
    const ip = normalizeIp(a.address);
    e.source = ip ? { ip } : { domain: a.address };
    if (a.rawAddress) e.source.address = a.address;
    if (a.port) {
      const port = Number(a.port);
      if (port > 0 && port <= 65535) e.source.port = port;
    }
  }
  if (a.extra) extra.system = { auth: a.extra };
}
