// Which Sigma logsources (product, category, service) a normalized event belongs to.
import { fieldGetter } from '../../core/ecs.js';
import type { Event } from '../../core/proto.js';
import type { Logsource } from './types.js';

/** The logsource values an event belongs to; a rule matches when each value it names is among them. */
export interface EventLogsource {
  readonly key: string;
  readonly products: readonly string[];
  readonly categories: readonly string[];
  readonly services: readonly string[];
}

export const SYSMON_CHANNEL = 'microsoft-windows-sysmon/operational';

/** Sysmon event id -> Sigma categories (taxonomy appendix, Windows folder). */
const SYSMON_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  1: ['process_creation'],
  2: ['file_change'],
  3: ['network_connection'],
  4: ['sysmon_status'],
  5: ['process_termination'],
  6: ['driver_load'],
  7: ['image_load'],
  8: ['create_remote_thread'],
  9: ['raw_access_thread'],
  10: ['process_access'],
  11: ['file_event'],
  // Sysmon 12 covers both key creation and deletion; rules tell them apart by EventType.
  12: ['registry_event', 'registry_add', 'registry_delete'],
  13: ['registry_event', 'registry_set'],
  14: ['registry_event', 'registry_rename'],
  15: ['create_stream_hash'],
  16: ['sysmon_status'],
  17: ['pipe_created'],
  18: ['pipe_created'],
  19: ['wmi_event'],
  20: ['wmi_event'],
  21: ['wmi_event'],
  22: ['dns_query'],
  23: ['file_delete'],
  24: ['clipboard_capture'],
  25: ['process_tampering'],
  26: ['file_delete_detected'],
  27: ['file_block_executable'],
  28: ['file_block_shredding'],
  29: ['file_executable_detected'],
  255: ['sysmon_error'],
};

/** Windows channel (lowercase) -> Sigma service, from the taxonomy appendix. */
const CHANNEL_SERVICES: Readonly<Record<string, string>> = {
  security: 'security',
  system: 'system',
  application: 'application',
  [SYSMON_CHANNEL]: 'sysmon',
  'microsoft-windows-powershell/operational': 'powershell',
  'windows powershell': 'powershell-classic',
  'microsoft-windows-taskscheduler/operational': 'taskscheduler',
  'microsoft-windows-wmi-activity/operational': 'wmi',
  'microsoft-windows-windows defender/operational': 'windefend',
  'microsoft-windows-applocker/msi and script': 'applocker',
  'microsoft-windows-applocker/exe and dll': 'applocker',
  'microsoft-windows-applocker/packaged app-deployment': 'applocker',
  'microsoft-windows-applocker/packaged app-execution': 'applocker',
  'microsoft-windows-bits-client/operational': 'bits-client',
  'microsoft-windows-codeintegrity/operational': 'codeintegrity-operational',
  'microsoft-windows-dns client events/operational': 'dns-client',
  'dns server': 'dns-server',
  'microsoft-windows-dns-server/audit': 'dns-server-audit',
  'microsoft-windows-dns-server/analytical': 'dns-server-analytic',
  'microsoft-windows-driverframeworks-usermode/operational': 'driver-framework',
  'microsoft-windows-windows firewall with advanced security/firewall': 'firewall-as',
  'microsoft-windows-lsa/operational': 'lsa-server',
  'microsoft-windows-ntlm/operational': 'ntlm',
  'microsoft-windows-ntfs/operational': 'ntfs',
  'openssh/operational': 'openssh',
  'microsoft-windows-printservice/admin': 'printservice-admin',
  'microsoft-windows-printservice/operational': 'printservice-operational',
  'microsoft-windows-smbclient/security': 'smbclient-security',
  'microsoft-windows-terminalservices-localsessionmanager/operational': 'terminalservices-localsessionmanager',
  'microsoft-windows-vhdmp/operational': 'vhdmp',
  'microsoft-windows-vhdmp-operational': 'vhdmp',
  'microsoft-windows-bitlocker/bitlocker management': 'bitlocker',
  'microsoft-windows-capi2/operational': 'capi2',
  'microsoft-windows-appxdeploymentserver/operational': 'appxdeployment-server',
  'microsoft-windows-appxpackaging/operational': 'appxpackaging-om',
  'microsoft-windows-appmodel-runtime/admin': 'appmodel-runtime',
  'microsoft-windows-shell-core/operational': 'shell-core',
  'microsoft-windows-sense/operational': 'sense',
  'microsoft-windows-dhcp-server/operational': 'dhcp',
  'msexchange management': 'msexchange-management',
  'microsoft-iis-configuration/operational': 'iis-configuration',
  'microsoft-windows-kernel-shimengine/operational': 'kernel-shimengine',
  'microsoft-windows-security-mitigations/kernel mode': 'security-mitigations',
  'microsoft-windows-security-mitigations/user mode': 'security-mitigations',
};

const PS_CATEGORIES: Readonly<Record<string, readonly string[]>> = { 4103: ['ps_module'], 4104: ['ps_script'] };
const PS_CLASSIC_CATEGORIES: Readonly<Record<string, readonly string[]>> = {
  400: ['ps_classic_start'], 600: ['ps_classic_provider_start'], 800: ['ps_classic_script'],
};
/** Security-log events that Sigma's generic categories also cover. */
const SECURITY_CATEGORIES: Readonly<Record<string, readonly string[]>> = { 4688: ['process_creation'] };

/** Linux programs whose syslog lines form a Sigma service of their own. */
const LINUX_SERVICES: Readonly<Record<string, readonly string[]>> = {
  sshd: ['sshd', 'auth'],
  // OpenSSH 9.8 and later log the per-connection work as sshd-session.
  'sshd-session': ['sshd', 'auth'],
  sudo: ['sudo', 'auth'],
  su: ['auth'],
  login: ['auth'],
  'systemd-logind': ['auth'],
  cron: ['cron'],
  crond: ['cron'],
  vsftpd: ['vsftpd'],
  clamd: ['clamav'],
  freshclam: ['clamav'],
  auditd: ['auditd'],
};
const WEB_SERVERS = new Set(['apache', 'nginx', 'iis']);

const getChannel = fieldGetter('winlog.channel');
const memo = new Map<string, EventLogsource>();

function make(products: string[], categories: string[], services: string[]): EventLogsource {
  const key = `${products.join(',')}|${categories.join(',')}|${services.join(',')}`;
  let ls = memo.get(key);
  if (!ls) {
    ls = { key, products: [...new Set(products)], categories: [...new Set(categories)], services: [...new Set(services)] };
    memo.set(key, ls);
  }
  return ls;
}

const windowsMemo = new Map<string, Map<string, EventLogsource>>();

function windowsLogsource(channelRaw: string, code: string): EventLogsource {
  let byCode = windowsMemo.get(channelRaw);
  if (!byCode) { byCode = new Map(); windowsMemo.set(channelRaw, byCode); }
  let ls = byCode.get(code);
  if (ls) return ls;
  const channel = channelRaw.toLowerCase();
  const categories: string[] = [];
  const services: string[] = [];
  const service = CHANNEL_SERVICES[channel];
  if (service) services.push(service);
  if (channel === SYSMON_CHANNEL) categories.push(...(SYSMON_CATEGORIES[code] ?? []));
  else if (channel === 'microsoft-windows-powershell/operational' || channel === 'powershellcore/operational') categories.push(...(PS_CATEGORIES[code] ?? []));
  else if (channel === 'windows powershell') categories.push(...(PS_CLASSIC_CATEGORIES[code] ?? []));
  else if (channel === 'security') categories.push(...(SECURITY_CATEGORIES[code] ?? []));
  ls = make(['windows'], categories, services);
  byCode.set(code, ls);
  return ls;
}

function isWindowsEvent(e: Event): boolean {
  const module = e.event?.module;
  if (module === 'sysmon' || module === 'windows') return true;
  return !!e.extra_json && e.extra_json.includes('"winlog"');
}

/**
 * The logsource of a normalized event. Memoized: events of one kind share one object.
 * The source's declared kind (observer.type, set by normalize from `soc sources add --kind`) comes first:
 * a proxy's requests are `category: proxy` and never `webserver`, a firewall's are `firewall`, and so on.
 * Undeclared web requests are a web server's access log (`webserver` only): proxy rules need a proxy source.
 */
export function eventLogsource(e: Event): EventLogsource {
  const kind = e.observer?.type ?? '';
  if (kind && kind !== 'windows' && kind !== 'agent' && KIND_PLACES.has(kind)) return kindLogsource(e, kind);
  if (isWindowsEvent(e)) {
    const channel = getChannel(e);
    if (typeof channel === 'string' && channel) return windowsLogsource(channel, e.event?.code ?? '');
  }
  const ev = e.event;
  const cats = ev?.category ?? [];
  const types = ev?.type ?? [];
  const module = ev?.module ?? '';
  const family0 = e.host?.os_family ?? '';
  const family = family0 === 'linux' || family0 === 'windows' || family0 === '' ? family0 : family0.toLowerCase();
  // Only program names that select a service go into the memo key, so it stays small.
  const pname0 = e.process?.name ?? '';
  const pname = pname0 && LINUX_SERVICES[pname0.toLowerCase()] ? pname0.toLowerCase() : '';
  const isWeb = cats.includes('web') || !!e.url?.original || !!e.http?.request_method;
  const key = module + '|' + (ev?.dataset ?? '') + '|' + family + '|' + (cats.length === 1 ? cats[0] : cats.join(',')) + '|'
    + (types.length === 1 ? types[0] : types.join(',')) + '|' + pname + (isWeb ? '|w' : '|');
  let ls = memo.get(key);
  if (ls) return ls;

  const products: string[] = [];
  const categories: string[] = [];
  const services: string[] = [];
  if (family === 'darwin' || family === 'macos') products.push('macos');
  else if (family) products.push(family);
  if (isWeb) {
    categories.push('webserver');
    if (WEB_SERVERS.has(module)) products.push(module);
  }
  if (cats.includes('process')) {
    if (types.includes('start')) categories.push('process_creation');
    if (types.includes('end')) categories.push('process_termination');
  }
  if (cats.includes('network') && !isWeb) categories.push('network_connection', 'network');
  if (cats.includes('network') && types.includes('connection')) services.push('connection');
  if (cats.includes('file')) categories.push('file_event');
  if (cats.includes('dns')) categories.push('dns');
  // A program name makes a syslog service only for log lines: an agent's process event for sshd is not an sshd log.
  const program = module === 'agent' ? '' : pname || (LINUX_SERVICES[module] ? module : '');
  const svc = LINUX_SERVICES[program];
  const syslog = module === 'syslog' || ev?.dataset === 'syslog' || !!svc;
  if (svc) services.push(...svc);
  if (cats.includes('authentication') && (syslog || family === 'linux')) services.push('auth');
  if (syslog) {
    services.push('syslog');
    if (!family) products.push('linux');
  }
  ls = make(products, categories, services);
  if (memo.size > 10_000) memo.clear();
  memo.set(key, ls);
  return ls;
}

/** Declared kinds placed by the source alone (windows and agent events are placed by their content). */
const KIND_PLACES = new Set(['webserver', 'proxy', 'firewall', 'dns', 'linux', 'auditd']);

/** The logsource of an event from a source that declared its kind. */
function kindLogsource(e: Event, kind: string): EventLogsource {
  const module = e.event?.module ?? '';
  const pname0 = e.process?.name ?? '';
  const pname = pname0 && LINUX_SERVICES[pname0.toLowerCase()] ? pname0.toLowerCase() : '';
  const cats = e.event?.category ?? [];
  const key = `kind:${kind}|${module}|${pname}|${cats.join(',')}`;
  let ls = memo.get(key);
  if (ls) return ls;
  const products: string[] = [];
  const categories: string[] = [];
  const services: string[] = [];
  switch (kind) {
    case 'webserver':
      categories.push('webserver');
      if (WEB_SERVERS.has(module)) products.push(module);
      break;
    case 'proxy':
      categories.push('proxy');
      break;
    case 'firewall':
      categories.push('firewall');
      break;
    case 'dns':
      categories.push('dns');
      break;
    case 'auditd':
      products.push('linux');
      services.push('auditd');
      break;
    case 'linux': {
      products.push('linux');
      const svc = LINUX_SERVICES[pname || module];
      if (svc) services.push(...svc);
      if (cats.includes('authentication')) services.push('auth');
      services.push('syslog');
      break;
    }
  }
  ls = make(products, categories, services);
  if (memo.size > 10_000) memo.clear();
  memo.set(key, ls);
  return ls;
}

/** Whether a rule's logsource admits an event's logsource: every value the rule names must be among the event's. */
export function logsourceMatches(rule: Logsource, ev: EventLogsource): boolean {
  if (rule.product && !ev.products.includes(rule.product)) return false;
  if (rule.category && !ev.categories.includes(rule.category)) return false;
  if (rule.service && !ev.services.includes(rule.service)) return false;
  return true;
}
