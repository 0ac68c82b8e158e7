// What each Windows event means in ECS: the Sysmon, Security and other providers' tables, by event ID.
import type { Event } from '../../core/proto.js';
import { baseName, table } from './guard.js';
import {
  type Data, DNS_STATUS, INTEGRITY, braced, parseWinInt, setDomainUser, setEndpoint, setFile, setHashes, setProcess, setRegistry, setTarget, setTime, setUser, val,
} from './windows-fields.js';
import { normalizeIp } from './util.js';

export interface Mapping {
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

export const SYSMON: Record<number, Mapping> = {
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

export const SECURITY: Record<number, Mapping> = {
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
export const PROVIDERS = table<Record<number, Mapping>>({
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

export function applyWho(e: Event, d: Data, who: NonNullable<Mapping['who']>): void {
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
export function applySource(e: Event, d: Data): void {
  const ip = val(d, 'IpAddress') ?? val(d, 'ClientAddress');
  const domain = val(d, 'WorkstationName') ?? val(d, 'ClientName');
  setEndpoint(e, 'source', ip, val(d, 'IpPort'), domain);
}
