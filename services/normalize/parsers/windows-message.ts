// A one-line message for a Windows event that came without one (Sysmon and Security XML rarely carry the
// rendered text): what happened, to what, by whom, so free-text search finds "lsass" or "rundll32" in it.
import type { Event } from '../../core/proto.js';
import { val, type Data } from './windows-fields.js';

/** How an action reads in a sentence, where the action name alone reads badly. */
const WORDS: Record<string, string> = {
  process_creation: 'process created', process_termination: 'process ended', process_access: 'process accessed',
  create_remote_thread: 'remote thread created', image_load: 'image loaded', network_connection: 'network connection',
  dns_query: 'DNS query', file_event: 'file created', file_change: 'file time changed', file_delete: 'file deleted',
  file_delete_detected: 'file deletion detected', registry_add: 'registry key created', registry_delete: 'registry key deleted',
  registry_set: 'registry value set', registry_event: 'registry changed', registry_rename: 'registry key renamed',
  logon: 'logon', logon_failed: 'logon failed', logoff: 'logoff', explicit_credentials_logon: 'logon with explicit credentials',
  service_installed: 'service installed', scheduled_task_created: 'scheduled task created', audit_log_cleared: 'audit log cleared',
  log_cleared: 'log cleared', pipe_created: 'pipe created', pipe_connected: 'pipe connected', raw_access_read: 'raw disk read',
};

/** Each part is cut here, so one huge command line cannot make the message the size of the event. */
const PART_MAX = 400;

const cut = (s: string): string => (s.length > PART_MAX ? `${s.slice(0, PART_MAX)}…` : s);

function account(u: { name?: string | null; domain?: string | null } | null | undefined): string | undefined {
  if (!u?.name) return undefined;
  return u.domain ? `${u.domain}\\${u.name}` : u.name;
}

function endpoint(x: { ip?: string | null; port?: number | null; domain?: string | null } | null | undefined): string | undefined {
  const host = x?.ip || x?.domain;
  if (!host) return undefined;
  return x!.port ? `${host}:${x!.port}` : host;
}

/** The message: "<action>: <object> by <process or account> (parent <image>) from <address>". */
export function windowsMessage(e: Event, d: Data, eventId: number, provider: string | undefined): string {
  const action = e.event?.action;
  const head = action ? WORDS[action] ?? action.replaceAll('_', ' ') : `event ${eventId}${provider ? ` of ${provider}` : ''}`;
  const p = e.process;
  const image = p?.executable || undefined;
  const user = account(e.user);
  const target = account(e.user?.target);
  const parts: string[] = [];
  let by: string | undefined = image;
  const category = e.event?.category?.[0];
  if (action === 'process_access' || action === 'create_remote_thread') {
    const accessed = val(d, 'TargetImage');
    if (accessed) parts.push(accessed);
  } else if (e.dns?.question_name) parts.push(e.dns.question_name);
  else if (e.registry?.path) parts.push(e.registry.path);
  else if (e.file?.path) parts.push(e.file.path);
  else if (category === 'network') {
    const to = endpoint(e.destination);
    if (to) parts.push(`${endpoint(e.source) ?? '?'} -> ${to}`);
  } else if (category === 'process' && image) {
    parts.push(p?.command_line || image);
    by = undefined;
  } else if (category === 'authentication' || category === 'session' || category === 'iam') {
    if (target ?? user) parts.push((target ?? user)!);
  } else {
    const service = val(d, 'ServiceName') ?? val(d, 'TaskName') ?? val(d, 'PipeName');
    if (service) parts.push(service);
  }
  let line = parts.length ? `${head}: ${cut(parts[0]!)}` : head;
  if (by) line += ` by ${cut(by)}`;
  if (user && user !== parts[0]) line += ` (user ${user})`;
  const parent = p?.parent?.executable;
  if (parent) line += ` (parent ${cut(parent)})`;
  if (category === 'authentication' || category === 'session') {
    const from = endpoint(e.source);
    if (from) line += ` from ${from}`;
  }
  return line;
}
