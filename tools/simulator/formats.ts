// Raw records as real sources write them: combined access log lines, syslog sshd lines, Windows Security and
// Sysmon event XML, ECS JSON from a DNS resolver; and the records the engine hands to a target.
import type { Event } from '../../services/core/proto.js';
import { DOMAIN, FQDN, type LinuxHost } from './world.js';

/** How each simulated log source is posted: `?source=` and `?format=` of POST /api/ingest. */
export const SOURCES = {
  web: 'access',
  'linux-auth': 'syslog',
  'windows-security': 'winxml',
  sysmon: 'winxml',
  dns: 'ndjson',
} as const;
export type SourceId = keyof typeof SOURCES;

export interface LogRecord { kind: 'log'; ts: number; source: SourceId; text: string }
/** One event of a simulated agent, shipped in a TelemetryBatch on telemetry.<agent>. */
export interface TelemetryRecord { kind: 'telemetry'; ts: number; agent: LinuxHost; event: Event }
/** A simulated agent's heartbeat on hb.<agent>. */
export interface HeartbeatRecord { kind: 'heartbeat'; ts: number; agent: LinuxHost; intervalS: number; uptimeS: number }
export type SimRecord = LogRecord | TelemetryRecord | HeartbeatRecord;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function clf(ts: number): string {
  const d = new Date(ts);
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

export interface AccessFields { ip: string; method: string; path: string; status: number; bytes: number; referer?: string; ua: string; user?: string }

/** Apache/Nginx combined log format. */
export function accessLine(ts: number, f: AccessFields): string {
  return `${f.ip} - ${f.user ?? '-'} [${clf(ts)}] "${f.method} ${f.path} HTTP/1.1" ${f.status} ${f.bytes} "${f.referer ?? '-'}" "${f.ua}"`;
}

/** BSD syslog as rsyslog writes /var/log/auth.log (UTC here, as the parser reads a zone-less time). */
export function syslogLine(ts: number, host: string, program: string, pid: number, message: string): string {
  const d = new Date(ts);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${host} ${program}[${pid}]: ${message}`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function systemTime(ts: number): string {
  return new Date(ts).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

function utcTime(ts: number): string {
  return new Date(ts).toISOString().replace('T', ' ').replace('Z', '');
}

interface XmlHeader { ts: number; computer: string; recordId: number }

function event(provider: 'security' | 'sysmon', id: number, h: XmlHeader, data: Record<string, string | number>, userSid = 'S-1-5-18'): string {
  const [name, guid, channel] = provider === 'security'
    ? ['Microsoft-Windows-Security-Auditing', '{54849625-5478-4994-A5BA-3E3B0328C30D}', 'Security']
    : ['Microsoft-Windows-Sysmon', '{5770385F-C22A-43E0-BF4C-06F5698FFBD9}', 'Microsoft-Windows-Sysmon/Operational'];
  const security = provider === 'sysmon' ? `<Security UserID="${userSid}"/>` : '<Security/>';
  const fields = Object.entries(data).map(([k, v]) => `<Data Name="${k}">${xmlEscape(String(v))}</Data>`).join('');
  return `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="${name}" Guid="${guid}"/>`
    + `<EventID>${id}</EventID><Version>${provider === 'security' ? 2 : 5}</Version><Level>${provider === 'security' ? 0 : 4}</Level>`
    + `<Task>${provider === 'security' ? 12544 : id}</Task><Opcode>0</Opcode><Keywords>${id === 4625 ? '0x8010000000000000' : id === 4624 ? '0x8020000000000000' : '0x8000000000000000'}</Keywords>`
    + `<TimeCreated SystemTime="${systemTime(h.ts)}"/><EventRecordID>${h.recordId}</EventRecordID><Correlation/>`
    + `<Execution ProcessID="${provider === 'security' ? 724 : 3208}" ThreadID="${provider === 'security' ? 3937 : 4012}"/>`
    + `<Channel>${channel}</Channel><Computer>${h.computer}.${FQDN}</Computer>${security}</System><EventData>${fields}</EventData></Event>`;
}

export interface LogonFields { user: string; logonType: number; ip: string; port: number; workstation: string }

/** Security 4624 (success) or 4625 (failure, bad password). */
export function logonXml(h: XmlHeader, success: boolean, f: LogonFields): string {
  const common = {
    SubjectUserSid: success ? 'S-1-5-18' : 'S-1-0-0', SubjectUserName: success ? `${h.computer}$` : '-', SubjectDomainName: success ? DOMAIN : '-',
    SubjectLogonId: success ? '0x3e7' : '0x0', TargetUserSid: success ? `S-1-5-21-1004336348-1177238915-682003330-${1100 + f.user.length}` : 'S-1-0-0',
    TargetUserName: f.user, TargetDomainName: DOMAIN,
  };
  const data = success
    ? { ...common, TargetLogonId: `0x${(h.recordId * 7919).toString(16)}`, LogonType: f.logonType, LogonProcessName: f.logonType === 10 ? 'User32' : 'NtLmSsp',
      AuthenticationPackageName: f.logonType === 10 ? 'Negotiate' : 'NTLM', WorkstationName: f.workstation, LogonGuid: '{00000000-0000-0000-0000-000000000000}',
      TransmittedServices: '-', LmPackageName: '-', KeyLength: 0, ProcessId: '0x0', ProcessName: '-', IpAddress: f.ip, IpPort: f.port,
      ImpersonationLevel: '%%1833', ElevatedToken: '%%1843' }
    : { ...common, Status: '0xc000006d', FailureReason: '%%2313', SubStatus: '0xc000006a', LogonType: f.logonType,
      LogonProcessName: f.logonType === 10 ? 'User32' : 'NtLmSsp', AuthenticationPackageName: f.logonType === 10 ? 'Negotiate' : 'NTLM',
      WorkstationName: f.workstation, TransmittedServices: '-', LmPackageName: '-', KeyLength: 0, ProcessId: '0x0', ProcessName: '-', IpAddress: f.ip, IpPort: f.port };
  return event('security', success ? 4624 : 4625, h, data);
}

function guid(n: number): string {
  const hex = (n >>> 0).toString(16).padStart(8, '0');
  return `{A98268C1-${hex.slice(0, 4)}-${hex.slice(4)}-0000-000000000000}`;
}

export interface ProcessFields { pid: number; image: string; commandLine: string; user: string; parentPid: number; parentImage: string; parentCommandLine: string; originalFileName: string; integrity?: string }

/** Sysmon 1: process creation. */
export function sysmonProcessXml(h: XmlHeader, f: ProcessFields): string {
  return event('sysmon', 1, h, {
    RuleName: '-', UtcTime: utcTime(h.ts), ProcessGuid: guid(f.pid * 31 + h.recordId), ProcessId: f.pid, Image: f.image, FileVersion: '10.0.22621.1',
    Description: '-', Product: '-', Company: '-', OriginalFileName: f.originalFileName, CommandLine: f.commandLine,
    CurrentDirectory: 'C:\\Windows\\system32\\', User: f.user, LogonGuid: guid(h.recordId), LogonId: '0x3e7', TerminalSessionId: 1,
    IntegrityLevel: f.integrity ?? 'Medium', Hashes: `SHA256=${(f.image.length * 2654435761 >>> 0).toString(16).padStart(64, '0')}`,
    ParentProcessGuid: guid(f.parentPid), ParentProcessId: f.parentPid, ParentImage: f.parentImage, ParentCommandLine: f.parentCommandLine, ParentUser: f.user,
  });
}

export interface ConnectionFields { pid: number; image: string; user: string; srcIp: string; srcPort: number; dstIp: string; dstPort: number; initiated: boolean; dstHost?: string }

/** Sysmon 3: network connection. */
export function sysmonNetworkXml(h: XmlHeader, f: ConnectionFields): string {
  return event('sysmon', 3, h, {
    RuleName: '-', UtcTime: utcTime(h.ts), ProcessGuid: guid(f.pid), ProcessId: f.pid, Image: f.image, User: f.user, Protocol: 'tcp',
    Initiated: String(f.initiated), SourceIsIpv6: 'false', SourceIp: f.srcIp, SourceHostname: '-', SourcePort: f.srcPort, SourcePortName: '-',
    DestinationIsIpv6: 'false', DestinationIp: f.dstIp, DestinationHostname: f.dstHost ?? '-', DestinationPort: f.dstPort, DestinationPortName: '-',
  });
}

/** Sysmon 10: one process opened another. */
export function sysmonAccessXml(h: XmlHeader, f: { sourcePid: number; sourceImage: string; targetPid: number; targetImage: string; grantedAccess: string; sourceUser: string }): string {
  return event('sysmon', 10, h, {
    RuleName: '-', UtcTime: utcTime(h.ts), SourceProcessGUID: guid(f.sourcePid), SourceProcessId: f.sourcePid, SourceThreadId: f.sourcePid + 88,
    SourceImage: f.sourceImage, TargetProcessGUID: guid(f.targetPid), TargetProcessId: f.targetPid, TargetImage: f.targetImage,
    GrantedAccess: f.grantedAccess, CallTrace: 'C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e',
    SourceUser: f.sourceUser, TargetUser: 'NT AUTHORITY\\SYSTEM',
  });
}

/** A resolver's query log as ECS JSON (what a DNS server's JSON log or a beat would send). */
export function dnsJson(ts: number, resolver: { name: string; ip: string }, f: { clientIp: string; name: string; type: string; answers: string[]; rcode: string }): string {
  return JSON.stringify({
    '@timestamp': new Date(ts).toISOString(),
    host: { name: resolver.name, ip: [resolver.ip] },
    event: { kind: 'event', category: ['network'], type: ['protocol'], action: 'dns-query', outcome: f.rcode === 'NOERROR' ? 'success' : 'failure', dataset: 'dns.log' },
    network: { protocol: 'dns', transport: 'udp' },
    source: { ip: f.clientIp },
    dns: { question: { name: f.name, type: f.type }, resolved_ip: f.answers, response_code: f.rcode },
    message: `query ${f.type} ${f.name} from ${f.clientIp}: ${f.rcode}${f.answers.length ? ` ${f.answers.join(',')}` : ''}`,
  });
}
