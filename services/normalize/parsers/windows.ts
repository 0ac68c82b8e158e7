// Windows events (from event XML, evtx_dump JSON or Winlogbeat JSON) to normalized events, Sysmon and Security mapped to ECS.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { baseName, checkFieldSize, dict, freeName, table } from './guard.js';
import { normalizeHost, normalizeIp, toUtc } from './util.js';

/** The fields of one Windows event, whatever it was rendered as. */
export interface WinRecord {
  channel?: string;
  provider?: string;
  providerGuid?: string;
  eventId?: number;
  level?: number;
  /** Hex mask as rendered in XML ("0x8010000000000000"), or keyword names as Winlogbeat writes them. */
  keywords?: string | string[];
  timeCreated?: string;
  recordId?: number;
  activityId?: string;
  processId?: number;
  threadId?: number;
  computer?: string;
  userSid?: string;
  /** Every EventData / UserData value, verbatim, by name (null prototype: names come from the input). */
  eventData: Record<string, string>;
  message?: string;
}

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

type Data = Record<string, string>;

/** A present, meaningful value: Windows writes "-" for "none". */
function val(d: Data, key: string): string | undefined {
  const v = d[key];
  return v === undefined || v === '' || v === '-' ? undefined : v;
}

// ---------------------------------------------------------------- field helpers

function setUser(e: Event, name: string | undefined, domain: string | undefined, id: string | undefined): void {
  if (!name && !id) return;
  const u = (e.user ??= {});
  if (name) u.name = name;
  if (domain) u.domain = domain;
  if (id) u.id = id;
}

function setTarget(e: Event, name: string | undefined, domain: string | undefined, id: string | undefined): void {
  if (!name && !id) return;
  const t: NonNullable<NonNullable<Event['user']>['target']> = {};
  if (name) t.name = name;
  if (domain) t.domain = domain;
  if (id) t.id = id;
  (e.user ??= {}).target = t;
}

/** "DOMAIN\name" as Sysmon writes users. */
function setDomainUser(e: Event, v: string | undefined): void {
  if (!v) return;
  const bs = v.indexOf('\\');
  if (bs < 0) setUser(e, v, undefined, undefined);
  else setUser(e, v.slice(bs + 1), v.slice(0, bs), undefined);
}

function setProcess(e: Event, d: Data, pidKey: string, guidKey: string, imageKey: string): void {
  const pid = parseWinInt(d[pidKey]);
  const guid = val(d, guidKey);
  const image = val(d, imageKey);
  if (pid === undefined && !guid && !image) return;
  const p = (e.process ??= {});
  if (pid !== undefined) p.pid = pid;
  if (guid) p.entity_id = braced(guid);
  if (image) { p.executable = image; p.name = baseName(image); }
}

function setFile(e: Event, path: string | undefined): void {
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
function setHashes(target: { hash_md5?: string | null; hash_sha1?: string | null; hash_sha256?: string | null }, v: string | undefined): void {
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

function setEndpoint(e: Event, side: 'source' | 'destination', ip: string | undefined, port: string | undefined, domain: string | undefined): void {
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

function setTime(v: string | undefined): string | undefined {
  return windowsTime(v);
}

const HIVES = table<string>({
  HKLM: 'HKLM', HKU: 'HKU', HKCU: 'HKCU', HKCR: 'HKCR', HKCC: 'HKCC',
  HKEY_LOCAL_MACHINE: 'HKLM', HKEY_USERS: 'HKU', HKEY_CURRENT_USER: 'HKCU', HKEY_CLASSES_ROOT: 'HKCR', HKEY_CURRENT_CONFIG: 'HKCC',
});

function setRegistry(e: Event, d: Data, valueEvent: boolean): void {
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

const DNS_STATUS = table<string>({ 0: 'NOERROR', 9001: 'FORMERR', 9002: 'SERVFAIL', 9003: 'NXDOMAIN', 9004: 'NOTIMP', 9005: 'REFUSED' });

const INTEGRITY = table<string>({
  'S-1-16-0': 'Untrusted', 'S-1-16-4096': 'Low', 'S-1-16-8192': 'Medium', 'S-1-16-8448': 'MediumPlus',
  'S-1-16-12288': 'High', 'S-1-16-16384': 'System', 'S-1-16-20480': 'Protected',
});

// ---------------------------------------------------------------- mappings

interface Mapping {
  category: readonly string[];
  type: readonly string[];
  action: string;
  outcome?: 'success' | 'failure';
  /** Security: whose account user.* names. */
  who?: 'target' | 'subject' | 'subject_target' | 'member' | 'account';
  /** Security: the outcome is in the Status field (0x0 = success). */
  status?: boolean;
  map?: (e: Event, d: Data) => void;
}

function sysmonProcess(e: Event, d: Data): void {
  setProcess(e, d, 'ProcessId', 'ProcessGuid', 'Image');
  setDomainUser(e, val(d, 'User'));
}

function fileEvent(e: Event, d: Data): void {
  sysmonProcess(e, d);
  setFile(e, val(d, 'TargetFilename'));
}

const SYSMON: Record<number, Mapping> = {
  1: { category: ['process'], type: ['start'], action: 'process_creation', map: (e, d) => {
    sysmonProcess(e, d);
    const p = e.process ??= {};
    const cmd = val(d, 'CommandLine'); if (cmd) p.command_line = cmd;
    const cwd = val(d, 'CurrentDirectory'); if (cwd) p.working_directory = cwd;
    const start = setTime(val(d, 'UtcTime')); if (start) p.start = start;
    const il = val(d, 'IntegrityLevel'); if (il) p.integrity_level = il;
    const ofn = val(d, 'OriginalFileName'); if (ofn) p.pe_original_file_name = ofn;
    const company = val(d, 'Company'); if (company) p.pe_company = company;
    const desc = val(d, 'Description'); if (desc) p.pe_description = desc;
    const product = val(d, 'Product'); if (product) p.pe_product = product;
    setHashes(p, val(d, 'Hashes'));
    const parent: NonNullable<NonNullable<Event['process']>['parent']> = {};
    const ppid = parseWinInt(d.ParentProcessId); if (ppid !== undefined) parent.pid = ppid;
    const pguid = val(d, 'ParentProcessGuid'); if (pguid) parent.entity_id = braced(pguid);
    const pimage = val(d, 'ParentImage'); if (pimage) { parent.executable = pimage; parent.name = baseName(pimage); }
    const pcmd = val(d, 'ParentCommandLine'); if (pcmd) parent.command_line = pcmd;
    for (const _ in parent) { p.parent = parent; break; }
  } },
  2: { category: ['file'], type: ['change'], action: 'file_change', map: (e, d) => {
    fileEvent(e, d);
    const created = setTime(val(d, 'CreationUtcTime')); if (created) (e.file ??= {}).created = created;
  } },
  3: { category: ['network'], type: ['connection', 'start'], action: 'network_connection', map: (e, d) => {
    sysmonProcess(e, d);
    setEndpoint(e, 'source', val(d, 'SourceIp'), val(d, 'SourcePort'), val(d, 'SourceHostname'));
    setEndpoint(e, 'destination', val(d, 'DestinationIp'), val(d, 'DestinationPort'), val(d, 'DestinationHostname'));
    const n: NonNullable<Event['network']> = {};
    const proto = val(d, 'Protocol'); if (proto) n.transport = proto.toLowerCase();
    const portName = val(d, 'DestinationPortName'); if (portName) n.protocol = portName.toLowerCase();
    if (d.Initiated === 'true') n.direction = 'outbound'; else if (d.Initiated === 'false') n.direction = 'inbound';
    if (d.SourceIsIpv6 === 'true') n.type = 'ipv6'; else if (d.SourceIsIpv6 === 'false') n.type = 'ipv4';
    for (const _ in n) { e.network = n; break; }
  } },
  4: { category: ['configuration'], type: ['change'], action: 'sysmon_status' },
  5: { category: ['process'], type: ['end'], action: 'process_termination', map: sysmonProcess },
  6: { category: ['driver'], type: ['start'], action: 'driver_load', map: (e, d) => {
    setFile(e, val(d, 'ImageLoaded'));
    setHashes(e.file ??= {}, val(d, 'Hashes'));
  } },
  7: { category: ['library'], type: ['start'], action: 'image_load', map: (e, d) => {
    sysmonProcess(e, d);
    setFile(e, val(d, 'ImageLoaded'));
    setHashes(e.file ??= {}, val(d, 'Hashes'));
  } },
  8: { category: ['process'], type: ['change'], action: 'create_remote_thread', map: (e, d) => {
    setProcess(e, d, 'SourceProcessId', 'SourceProcessGuid', 'SourceImage');
    setDomainUser(e, val(d, 'SourceUser'));
  } },
  9: { category: ['file'], type: ['access'], action: 'raw_access_read', map: (e, d) => {
    sysmonProcess(e, d);
    setFile(e, val(d, 'Device'));
  } },
  10: { category: ['process'], type: ['access'], action: 'process_access', map: (e, d) => {
    // The accessing process is process.*; the accessed one stays in winlog.event_data.Target*.
    setProcess(e, d, 'SourceProcessId', 'SourceProcessGUID', 'SourceImage');
    if (!e.process?.entity_id) setProcess(e, d, 'SourceProcessId', 'SourceProcessGuid', 'SourceImage');
    setDomainUser(e, val(d, 'SourceUser'));
  } },
  11: { category: ['file'], type: ['creation'], action: 'file_event', map: (e, d) => {
    fileEvent(e, d);
    const created = setTime(val(d, 'CreationUtcTime')); if (created) (e.file ??= {}).created = created;
  } },
  12: { category: ['registry'], type: ['change'], action: 'registry_event', map: (e, d) => {
    sysmonProcess(e, d);
    const t = d.EventType ?? '';
    setRegistry(e, d, t.endsWith('Value'));
    if (t.startsWith('Create')) { e.event!.type = ['creation']; e.event!.action = 'registry_add'; }
    else if (t.startsWith('Delete')) { e.event!.type = ['deletion']; e.event!.action = 'registry_delete'; }
  } },
  13: { category: ['registry'], type: ['change'], action: 'registry_set', map: (e, d) => { sysmonProcess(e, d); setRegistry(e, d, true); } },
  14: { category: ['registry'], type: ['change'], action: 'registry_rename', map: (e, d) => {
    sysmonProcess(e, d);
    setRegistry(e, d, (d.EventType ?? '').endsWith('Value'));
  } },
  15: { category: ['file'], type: ['creation'], action: 'create_stream_hash', map: (e, d) => {
    fileEvent(e, d);
    setHashes(e.file ??= {}, val(d, 'Hash'));
  } },
  16: { category: ['configuration'], type: ['change'], action: 'sysmon_config_change' },
  17: { category: ['file'], type: ['creation'], action: 'pipe_created', map: (e, d) => {
    sysmonProcess(e, d);
    const pipe = val(d, 'PipeName'); if (pipe) (e.file ??= {}).name = pipe;
  } },
  18: { category: ['file'], type: ['access'], action: 'pipe_connected', map: (e, d) => {
    sysmonProcess(e, d);
    const pipe = val(d, 'PipeName'); if (pipe) (e.file ??= {}).name = pipe;
  } },
  19: { category: ['configuration'], type: ['change'], action: 'wmi_event', map: wmi },
  20: { category: ['configuration'], type: ['change'], action: 'wmi_event', map: wmi },
  21: { category: ['configuration'], type: ['change'], action: 'wmi_event', map: wmi },
  22: { category: ['network'], type: ['protocol', 'info'], action: 'dns_query', map: (e, d) => {
    sysmonProcess(e, d);
    (e.network ??= {}).protocol = 'dns';
    const dns: NonNullable<Event['dns']> = {};
    const q = val(d, 'QueryName'); if (q) dns.question_name = q;
    const status = val(d, 'QueryStatus'); if (status) dns.response_code = DNS_STATUS[status] ?? status;
    const results = val(d, 'QueryResults');
    if (results) {
      const ips: string[] = [];
      for (const part of results.split(';')) { const ip = normalizeIp(part.trim()); if (ip) ips.push(ip); }
      if (ips.length) dns.resolved_ip = ips;
    }
    for (const _ in dns) { e.dns = dns; break; }
  } },
  23: { category: ['file'], type: ['deletion'], action: 'file_delete', map: (e, d) => { fileEvent(e, d); setHashes(e.file ??= {}, val(d, 'Hashes')); } },
  24: { category: ['process'], type: ['info'], action: 'clipboard_capture', map: sysmonProcess },
  25: { category: ['process'], type: ['change'], action: 'process_tampering', map: sysmonProcess },
  26: { category: ['file'], type: ['deletion'], action: 'file_delete_detected', map: (e, d) => { fileEvent(e, d); setHashes(e.file ??= {}, val(d, 'Hashes')); } },
  27: { category: ['file'], type: ['creation'], action: 'file_block_executable', outcome: 'failure', map: (e, d) => { fileEvent(e, d); setHashes(e.file ??= {}, val(d, 'Hashes')); } },
  28: { category: ['file'], type: ['deletion'], action: 'file_block_shredding', outcome: 'failure', map: (e, d) => { fileEvent(e, d); setHashes(e.file ??= {}, val(d, 'Hashes')); } },
  29: { category: ['file'], type: ['creation'], action: 'file_executable_detected', map: (e, d) => { fileEvent(e, d); setHashes(e.file ??= {}, val(d, 'Hashes')); } },
  255: { category: ['configuration'], type: ['info'], action: 'sysmon_error', outcome: 'failure' },
};

function wmi(e: Event, d: Data): void {
  setDomainUser(e, val(d, 'User'));
  const op = d.Operation;
  if (op === 'Created') e.event!.type = ['creation'];
  else if (op === 'Deleted') e.event!.type = ['deletion'];
}

function process4688(e: Event, d: Data): void {
  const p = (e.process ??= {});
  const pid = parseWinInt(d.NewProcessId); if (pid !== undefined) p.pid = pid;
  const image = val(d, 'NewProcessName'); if (image) { p.executable = image; p.name = baseName(image); }
  const cmd = val(d, 'CommandLine'); if (cmd) p.command_line = cmd;
  const il = INTEGRITY[d.MandatoryLabel ?? '']; if (il) p.integrity_level = il;
  const parent: NonNullable<NonNullable<Event['process']>['parent']> = {};
  const ppid = parseWinInt(d.ProcessId); if (ppid !== undefined) parent.pid = ppid;
  const pimage = val(d, 'ParentProcessName'); if (pimage) { parent.executable = pimage; parent.name = baseName(pimage); }
  for (const _ in parent) { p.parent = parent; break; }
}

function process4689(e: Event, d: Data): void {
  const p = (e.process ??= {});
  const pid = parseWinInt(d.ProcessId); if (pid !== undefined) p.pid = pid;
  const image = val(d, 'ProcessName'); if (image) { p.executable = image; p.name = baseName(image); }
  const code = parseWinInt(d.Status); if (code !== undefined && code <= 0x7fffffff) p.exit_code = code;
}

/** The process that asked for the logon (hex ProcessId, ProcessName); "-" and 0x0 mean none. */
function logonProcess(e: Event, d: Data): void {
  const pid = parseWinInt(d.ProcessId);
  const image = val(d, 'ProcessName');
  if (!pid && !image) return;
  const p = (e.process ??= {});
  if (pid) p.pid = pid;
  if (image) { p.executable = image; p.name = baseName(image); }
}

const AUTH = ['authentication'] as const;
const IAM = ['iam'] as const;
const CONFIG = ['configuration'] as const;
const USER_CHANGE = ['user', 'change'] as const;
const GROUP_CHANGE = ['group', 'change'] as const;

const SECURITY: Record<number, Mapping> = {
  1102: { category: CONFIG, type: ['deletion'], action: 'audit_log_cleared', outcome: 'success', who: 'subject' },
  4624: { category: AUTH, type: ['start'], action: 'logon', outcome: 'success', who: 'target', map: logonProcess },
  4625: { category: AUTH, type: ['info'], action: 'logon_failed', outcome: 'failure', who: 'target', map: logonProcess },
  4634: { category: AUTH, type: ['end'], action: 'logoff', outcome: 'success', who: 'target' },
  4647: { category: AUTH, type: ['end'], action: 'logoff', outcome: 'success', who: 'target' },
  4648: { category: AUTH, type: ['start'], action: 'explicit_credentials_logon', outcome: 'success', who: 'subject_target', map: logonProcess },
  4672: { category: IAM, type: ['admin'], action: 'special_privileges_assigned', outcome: 'success', who: 'subject' },
  4688: { category: ['process'], type: ['start'], action: 'process_creation', outcome: 'success', who: 'subject', map: process4688 },
  4689: { category: ['process'], type: ['end'], action: 'process_termination', outcome: 'success', who: 'subject', map: process4689 },
  4697: { category: CONFIG, type: ['creation'], action: 'service_installed', outcome: 'success', who: 'subject' },
  4698: { category: CONFIG, type: ['creation'], action: 'scheduled_task_created', who: 'subject' },
  4699: { category: CONFIG, type: ['deletion'], action: 'scheduled_task_deleted', who: 'subject' },
  4700: { category: CONFIG, type: ['change'], action: 'scheduled_task_enabled', who: 'subject' },
  4701: { category: CONFIG, type: ['change'], action: 'scheduled_task_disabled', who: 'subject' },
  4702: { category: CONFIG, type: ['change'], action: 'scheduled_task_updated', who: 'subject' },
  4720: { category: IAM, type: ['user', 'creation'], action: 'user_created', who: 'subject_target' },
  4722: { category: IAM, type: USER_CHANGE, action: 'user_enabled', who: 'subject_target' },
  4723: { category: IAM, type: USER_CHANGE, action: 'password_changed', who: 'subject_target' },
  4724: { category: IAM, type: USER_CHANGE, action: 'password_reset', who: 'subject_target' },
  4725: { category: IAM, type: USER_CHANGE, action: 'user_disabled', who: 'subject_target' },
  4726: { category: IAM, type: ['user', 'deletion'], action: 'user_deleted', who: 'subject_target' },
  4728: { category: IAM, type: GROUP_CHANGE, action: 'group_member_added', who: 'member' },
  4729: { category: IAM, type: GROUP_CHANGE, action: 'group_member_removed', who: 'member' },
  4732: { category: IAM, type: GROUP_CHANGE, action: 'group_member_added', who: 'member' },
  4733: { category: IAM, type: GROUP_CHANGE, action: 'group_member_removed', who: 'member' },
  4738: { category: IAM, type: USER_CHANGE, action: 'user_changed', who: 'subject_target' },
  4740: { category: IAM, type: USER_CHANGE, action: 'user_locked_out', who: 'subject_target', map: (e, d) => {
    // In 4740 "TargetDomainName" is the caller computer the bad passwords came from.
    if (e.user?.target) delete e.user.target.domain;
    const caller = val(d, 'TargetDomainName'); if (caller) (e.source ??= {}).domain = caller;
  } },
  4741: { category: IAM, type: ['user', 'creation'], action: 'computer_account_created', who: 'subject_target' },
  4756: { category: IAM, type: GROUP_CHANGE, action: 'group_member_added', who: 'member' },
  4757: { category: IAM, type: GROUP_CHANGE, action: 'group_member_removed', who: 'member' },
  4767: { category: IAM, type: USER_CHANGE, action: 'user_unlocked', who: 'subject_target' },
  4768: { category: AUTH, type: ['start'], action: 'kerberos_tgt_request', status: true, who: 'target' },
  4769: { category: AUTH, type: ['start'], action: 'kerberos_service_ticket_request', status: true, who: 'target' },
  4771: { category: AUTH, type: ['info'], action: 'kerberos_preauth_failed', outcome: 'failure', who: 'target' },
  4776: { category: AUTH, type: ['start'], action: 'ntlm_credential_validation', status: true, who: 'target', map: (e, d) => {
    const ws = val(d, 'Workstation'); if (ws) (e.source ??= {}).domain = ws;
  } },
  4778: { category: ['session'], type: ['start'], action: 'rdp_session_reconnected', outcome: 'success', who: 'account' },
  4779: { category: ['session'], type: ['end'], action: 'rdp_session_disconnected', outcome: 'success', who: 'account' },
  4674: { category: IAM, type: ['admin'], action: 'privileged_object_operation', who: 'subject' },
  5136: { category: CONFIG, type: ['change'], action: 'directory_object_modified', who: 'subject' },
};

function rdpUser(e: Event, d: Data): void {
  setDomainUser(e, val(d, 'User'));
  setEndpoint(e, 'source', val(d, 'Address'), undefined, undefined);
}

function taskUser(e: Event, d: Data): void {
  setDomainUser(e, val(d, 'UserContext') ?? val(d, 'UserName'));
}

/** Other providers whose events say who did what; keyed by provider name, then event ID. */
const PROVIDERS = table<Record<number, Mapping>>({
  'Microsoft-Windows-Eventlog': {
    104: { category: CONFIG, type: ['deletion'], action: 'log_cleared', outcome: 'success', who: 'subject' },
  },
  'Service Control Manager': {
    7045: { category: CONFIG, type: ['creation'], action: 'service_installed', outcome: 'success' },
  },
  'Microsoft-Windows-TerminalServices-LocalSessionManager': {
    21: { category: AUTH, type: ['start'], action: 'rdp_logon', outcome: 'success', map: rdpUser },
    22: { category: ['session'], type: ['start'], action: 'rdp_shell_start', outcome: 'success', map: rdpUser },
    23: { category: AUTH, type: ['end'], action: 'rdp_logoff', outcome: 'success', map: rdpUser },
    24: { category: ['session'], type: ['end'], action: 'rdp_session_disconnected', outcome: 'success', map: rdpUser },
    25: { category: ['session'], type: ['start'], action: 'rdp_session_reconnected', outcome: 'success', map: rdpUser },
  },
  'Microsoft-Windows-TerminalServices-RemoteConnectionManager': {
    // Logged when the network-level authentication of an RDP client succeeded: Param1 user, Param2 domain, Param3 address.
    1149: { category: AUTH, type: ['start'], action: 'rdp_authentication', outcome: 'success', map: (e, d) => {
      setUser(e, val(d, 'Param1'), val(d, 'Param2'), undefined);
      setEndpoint(e, 'source', val(d, 'Param3'), undefined, undefined);
    } },
  },
  'Microsoft-Windows-TaskScheduler': {
    106: { category: CONFIG, type: ['creation'], action: 'scheduled_task_created', map: taskUser },
    140: { category: CONFIG, type: ['change'], action: 'scheduled_task_updated', map: taskUser },
    141: { category: CONFIG, type: ['deletion'], action: 'scheduled_task_deleted', map: taskUser },
    142: { category: CONFIG, type: ['change'], action: 'scheduled_task_disabled', map: taskUser },
  },
});

function applyWho(e: Event, d: Data, who: NonNullable<Mapping['who']>): void {
  switch (who) {
    case 'target':
      setUser(e, val(d, 'TargetUserName'), val(d, 'TargetDomainName'), val(d, 'TargetUserSid') ?? val(d, 'TargetSid'));
      break;
    case 'subject':
      setUser(e, val(d, 'SubjectUserName'), val(d, 'SubjectDomainName'), val(d, 'SubjectUserSid'));
      break;
    case 'subject_target':
      setUser(e, val(d, 'SubjectUserName'), val(d, 'SubjectDomainName'), val(d, 'SubjectUserSid'));
      setTarget(e, val(d, 'TargetUserName'), val(d, 'TargetDomainName'), val(d, 'TargetSid') ?? val(d, 'TargetUserSid'));
      break;
    case 'member':
      setUser(e, val(d, 'SubjectUserName'), val(d, 'SubjectDomainName'), val(d, 'SubjectUserSid'));
      setTarget(e, val(d, 'MemberName'), undefined, val(d, 'MemberSid'));
      break;
    case 'account':
      setUser(e, val(d, 'AccountName'), val(d, 'AccountDomain'), undefined);
      break;
  }
}

/** Where the logon came from: IpAddress/IpPort and the workstation name, or the RDP client. */
function applySource(e: Event, d: Data): void {
  const ip = val(d, 'IpAddress') ?? val(d, 'ClientAddress');
  const domain = val(d, 'WorkstationName') ?? val(d, 'ClientName');
  setEndpoint(e, 'source', ip, val(d, 'IpPort'), domain);
}

const AUDIT_FAILURE = 0x10000000000000n;
const AUDIT_SUCCESS = 0x20000000000000n;
const KEYWORDS_HEX = /^0x[0-9a-fA-F]{1,16}$/;

/** Security events say success or failure in their keywords (audit success / audit failure). */
function auditOutcome(keywords: string | string[] | undefined): 'success' | 'failure' | undefined {
  if (keywords === undefined) return undefined;
  if (Array.isArray(keywords)) {
    if (keywords.includes('Audit Failure')) return 'failure';
    if (keywords.includes('Audit Success')) return 'success';
    return undefined;
  }
  if (!KEYWORDS_HEX.test(keywords)) return undefined;
  const k = BigInt(keywords);
  if (k & AUDIT_FAILURE) return 'failure';
  if (k & AUDIT_SUCCESS) return 'success';
  return undefined;
}

/** GUIDs as Windows renders them, in braces (evtx_dump leaves the braces out), so ids from XML and JSON join. */
function braced(guid: string): string;
function braced(guid: string | undefined): string | undefined;
function braced(guid: string | undefined): string | undefined {
  if (!guid) return undefined;
  return guid.charCodeAt(0) === 123 || !GUID.test(guid) ? guid : `{${guid}}`;
}

/** The Windows record as an Event. The winlog.* part of extra_json is the contract the detection engine reads. */
export function winEvent(rec: WinRecord, raw: string): Event {
  const id = rec.eventId!;
  const sysmon = rec.provider === 'Microsoft-Windows-Sysmon';
  const meta: NonNullable<Event['event']> = { kind: 'event', code: String(id), module: sysmon ? 'sysmon' : 'windows' };
  if (rec.provider) meta.provider = rec.provider;
  if (rec.level !== undefined && rec.level <= 0x7fffffff) meta.severity = rec.level;
  const e: Event = { event: meta, raw };
  if (rec.timeCreated) {
    const t = windowsTime(rec.timeCreated);
    if (!t) throw new ValidationError(`TimeCreated SystemTime ${JSON.stringify(rec.timeCreated.slice(0, 40))} is not a time`);
    e.timestamp = t;
  }
  const host = normalizeHost(rec.computer);
  if (host) e.host = { name: host };
  if (rec.message) {
    checkFieldSize('message', rec.message);
    e.message = rec.message;
  }
  const d = rec.eventData;
  let m: Mapping | undefined;
  if (sysmon) m = SYSMON[id];
  else if (rec.channel === 'Security') m = SECURITY[id];
  else if (rec.provider) m = PROVIDERS[rec.provider]?.[id];
  if (m) {
    meta.category = m.category.slice();
    meta.type = m.type.slice();
    meta.action = m.action;
    if (m.outcome) meta.outcome = m.outcome;
    else if (m.status) {
      const status = parseWinInt(d.Status);
      if (status !== undefined) meta.outcome = status === 0 ? 'success' : 'failure';
      if (meta.outcome === 'failure') meta.type = ['info'];
    }
    if (m.who) {
      applyWho(e, d, m.who);
      if (meta.category[0] === 'authentication' || meta.category[0] === 'session') applySource(e, d);
    }
    if (m.map) m.map(e, d);
  }
  if (!meta.outcome && rec.channel === 'Security') {
    const o = auditOutcome(rec.keywords);
    if (o) meta.outcome = o;
  }

  const winlog: Record<string, unknown> = {};
  if (rec.channel !== undefined) winlog.channel = rec.channel;
  if (rec.provider !== undefined) winlog.provider_name = rec.provider;
  const guid = braced(rec.providerGuid);
  if (guid) winlog.provider_guid = guid;
  winlog.event_id = id;
  if (rec.computer !== undefined) winlog.computer_name = rec.computer;
  if (rec.recordId !== undefined) winlog.record_id = rec.recordId;
  if (rec.keywords !== undefined && rec.keywords !== '') winlog.keywords = rec.keywords;
  const activity = braced(rec.activityId);
  if (activity) winlog.activity_id = activity;
  if (rec.userSid) winlog.user = { identifier: rec.userSid };
  if (rec.processId !== undefined || rec.threadId !== undefined) {
    const p: Record<string, unknown> = {};
    if (rec.processId !== undefined) p.pid = rec.processId;
    if (rec.threadId !== undefined) p.thread = { id: rec.threadId };
    winlog.process = p;
  }
  winlog.event_data = d;
  e.extra_json = JSON.stringify({ winlog });
  return e;
}

// ---------------------------------------------------------------- JSON shapes

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Which Windows JSON rendering a parsed document is, if any. */
export function windowsJsonShape(doc: Obj): 'evtx' | 'winlogbeat' | undefined {
  const ev = doc.Event;
  if (isObj(ev) && isObj(ev.System)) return 'evtx';
  const w = doc.winlog;
  if (isObj(w) && (w.event_id !== undefined || typeof w.channel === 'string')) return 'winlogbeat';
  return undefined;
}

/** evtx_dump writes attributes as "#attributes" inside the element, or as "<Name>_attributes" beside it. */
function attrsOf(parent: Obj, name: string): Obj | undefined {
  const node = parent[name];
  if (isObj(node) && isObj(node['#attributes'])) return node['#attributes'];
  const beside = parent[`${name}_attributes`];
  return isObj(beside) ? beside : undefined;
}

function textOf(v: unknown): unknown {
  return isObj(v) && '#text' in v ? v['#text'] : v;
}

/** A JSON value as the string Windows would have rendered (numbers as digits, nothing as ""). */
function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  const t = textOf(v);
  if (t !== v) return str(t);
  return JSON.stringify(v);
}

function optStr(v: unknown): string | undefined {
  const t = textOf(v);
  return t === undefined || t === null ? undefined : str(t);
}

const MAX_JSON_DEPTH = 32;

function putData(out: Data, key: string, value: string): void {
  checkFieldSize(`EventData ${key}`, value);
  out[key] = value;
}

function flattenJson(o: Obj, prefix: string, out: Data, depth: number, next = new Map<string, number>()): void {
  if (depth > MAX_JSON_DEPTH) throw new ValidationError(`UserData nests deeper than ${MAX_JSON_DEPTH} levels`);
  for (const k of Object.keys(o)) {
    if (k === '#attributes' || k.endsWith('_attributes')) continue;
    const v = o[k];
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObj(v) && !('#text' in v)) { flattenJson(v, key, out, depth + 1, next); continue; }
    putData(out, freeName(out, key, next), str(v));
  }
}

function evtxEventData(ed: unknown, out: Data): void {
  if (!isObj(ed)) return;
  let unnamed = 0;
  for (const k of Object.keys(ed)) {
    if (k === '#attributes') continue;
    const v = ed[k];
    if (k === 'Data') {
      // Data elements without a Name attribute: evtx_dump gives a value, an array or {"#text": [...]}.
      const t = textOf(v);
      for (const item of Array.isArray(t) ? t : [t]) putData(out, `Data${++unnamed}`, str(item));
      continue;
    }
    putData(out, k, k === 'Binary' ? str(v).trim() : str(v));
  }
}

function evtxRecord(doc: Obj): WinRecord {
  const ev = doc.Event as Obj;
  const sys = ev.System as Obj;
  const rec: WinRecord = { eventData: dict<string>() };
  const provider = attrsOf(sys, 'Provider');
  if (provider) {
    rec.provider = optStr(provider.Name ?? provider.EventSourceName);
    rec.providerGuid = optStr(provider.Guid);
  }
  const rawId = textOf(sys.EventID);
  rec.eventId = parseWinInt(typeof rawId === 'string' ? rawId.trim() : rawId);
  if (rec.eventId === undefined || rec.eventId > 0xffffffff) {
    throw new ValidationError(`Event.System.EventID ${JSON.stringify(rawId ?? null).slice(0, 40)} is not an event ID`);
  }
  rec.level = parseWinInt(textOf(sys.Level));
  rec.keywords = optStr(sys.Keywords);
  const time = attrsOf(sys, 'TimeCreated');
  if (time) rec.timeCreated = optStr(time.SystemTime);
  rec.recordId = parseWinInt(textOf(sys.EventRecordID));
  const corr = attrsOf(sys, 'Correlation');
  if (corr) rec.activityId = optStr(corr.ActivityID);
  const exec = attrsOf(sys, 'Execution');
  if (exec) { rec.processId = parseWinInt(exec.ProcessID); rec.threadId = parseWinInt(exec.ThreadID); }
  rec.channel = optStr(sys.Channel);
  rec.computer = optStr(sys.Computer);
  const sec = attrsOf(sys, 'Security');
  if (sec) rec.userSid = optStr(sec.UserID);
  evtxEventData(ev.EventData, rec.eventData);
  if (isObj(ev.UserData)) flattenUserData(ev.UserData, rec.eventData);
  return rec;
}

/** UserData holds one provider-defined element whose leaves become event_data fields. */
function flattenUserData(ud: Obj, out: Data): void {
  for (const k of Object.keys(ud)) {
    if (k === '#attributes') continue;
    const wrapper = ud[k];
    if (isObj(wrapper)) flattenJson(wrapper, '', out, 1);
    else putData(out, k, str(wrapper));
  }
}

/** An evtx_dump document {"Event": {"System": ..., "EventData": ...}} to an event. */
export function windowsFromEvtxJson(doc: Obj, record: string): Event {
  return winEvent(evtxRecord(doc), record);
}

function winlogbeatRecord(doc: Obj): WinRecord {
  const w = doc.winlog as Obj;
  const rec: WinRecord = { eventData: dict<string>() };
  rec.channel = optStr(w.channel);
  rec.provider = optStr(w.provider_name);
  rec.providerGuid = optStr(w.provider_guid);
  rec.eventId = parseWinInt(typeof w.event_id === 'string' ? w.event_id.trim() : w.event_id);
  if (rec.eventId === undefined || rec.eventId > 0xffffffff) {
    throw new ValidationError(`winlog.event_id ${JSON.stringify(w.event_id ?? null).slice(0, 40)} is not an event ID`);
  }
  const host = isObj(doc.host) ? doc.host : undefined;
  rec.computer = optStr(w.computer_name) ?? optStr(host?.name);
  rec.recordId = parseWinInt(w.record_id);
  if (Array.isArray(w.keywords)) rec.keywords = w.keywords.map(str);
  else rec.keywords = optStr(w.keywords);
  rec.activityId = optStr(w.activity_id);
  if (isObj(w.process)) {
    rec.processId = parseWinInt(w.process.pid);
    if (isObj(w.process.thread)) rec.threadId = parseWinInt(w.process.thread.id);
  }
  if (isObj(w.user)) rec.userSid = optStr(w.user.identifier);
  rec.timeCreated = optStr(doc['@timestamp']);
  rec.message = typeof doc.message === 'string' ? doc.message : undefined;
  if (isObj(w.event_data)) for (const k of Object.keys(w.event_data)) putData(rec.eventData, k, str(w.event_data[k]));
  if (isObj(w.user_data)) flattenJson(w.user_data, '', rec.eventData, 1);
  return rec;
}

/**
 * A Winlogbeat document to an event: the Windows mapping over `base`, which the JSON parser built from
 * the document's other fields (agent, host, tags...), so nothing Winlogbeat added is lost.
 */
export function windowsFromWinlogbeat(doc: Obj, record: string, base: Event): Event {
  const win = winEvent(winlogbeatRecord(doc), record);
  const target = base as Obj;
  for (const [k, v] of Object.entries(win)) {
    if (k === 'extra_json') continue;
    const cur = target[k];
    if (isObj(v) && isObj(cur)) Object.assign(cur, v);
    else target[k] = v;
  }
  const extra: Obj = base.extra_json ? (JSON.parse(base.extra_json) as Obj) : {};
  extra.winlog = (JSON.parse(win.extra_json!) as Obj).winlog;
  base.extra_json = JSON.stringify(extra);
  return base;
}
