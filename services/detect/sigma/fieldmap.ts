// The one table from Sigma field names to normalized event fields, per logsource.
import { ecsField, fieldGetter } from '../../core/ecs.js';
import type { Event } from '../../core/proto.js';
import type { Logsource } from './types.js';

type Getter = (e: Event) => unknown;

/** Where a mapping applies: any listed category (or product) of the rule's logsource. */
interface Scope {
  category?: readonly string[];
  product?: readonly string[];
}
type Target = string | readonly [ecs: string, scope: Scope];

const PROCESS_CATEGORIES = ['process_creation', 'process_termination'];
const FILE_CATEGORIES = ['file_event', 'file_change', 'file_delete', 'file_delete_detected', 'file_rename', 'file_access',
  'create_stream_hash', 'file_block_executable', 'file_block_shredding', 'file_executable_detected'];
const REGISTRY_CATEGORIES = ['registry_event', 'registry_add', 'registry_delete', 'registry_set', 'registry_rename'];
const WEB_CATEGORIES = ['webserver', 'proxy'];

/**
 * Sigma field -> normalized (ECS) fields, in the order tried. On Windows logsources the original
 * EventData field (winlog.event_data.<Field>) comes first and these are the fall-back, so events that
 * only carry ECS fields (agents, other OSes) still match. Fields missing here are looked up as
 * winlog.event_data.<Field> on Windows, then as written.
 */
const FIELD_MAP: Readonly<Record<string, readonly Target[]>> = {
  // Process creation (Sysmon 1, Security 4688) and the process side of other Sysmon events.
  Image: ['process.executable'],
  NewProcessName: ['process.executable'],
  ProcessName: ['process.executable'],
  SourceImage: [['process.executable', { category: ['process_access', 'create_remote_thread'] }]],
  CommandLine: ['process.command_line'],
  ProcessCommandLine: ['process.command_line'],
  ParentImage: ['process.parent.executable'],
  ParentProcessName: ['process.parent.executable'],
  ParentCommandLine: ['process.parent.command_line'],
  ProcessId: ['process.pid'],
  NewProcessId: ['process.pid'],
  ParentProcessId: ['process.parent.pid'],
  ProcessGuid: ['process.entity_id'],
  ParentProcessGuid: ['process.parent.entity_id'],
  CurrentDirectory: ['process.working_directory'],
  IntegrityLevel: ['process.integrity_level'],
  OriginalFileName: [['process.pe.original_file_name', { category: PROCESS_CATEGORIES }]],
  Product: [['process.pe.product', { category: PROCESS_CATEGORIES }]],
  Company: [['process.pe.company', { category: PROCESS_CATEGORIES }]],
  Description: [['process.pe.description', { category: PROCESS_CATEGORIES }]],
  md5: [['process.hash.md5', { category: PROCESS_CATEGORIES }]],
  sha1: [['process.hash.sha1', { category: PROCESS_CATEGORIES }]],
  sha256: [['process.hash.sha256', { category: PROCESS_CATEGORIES }]],
  User: ['user.name', 'process.user.name'],
  // Files, registry, image loads.
  TargetFilename: [['file.path', { category: FILE_CATEGORIES }]],
  ImageLoaded: [['file.path', { category: ['image_load', 'driver_load'] }]],
  TargetObject: [['registry.path', { category: REGISTRY_CATEGORIES }]],
  Details: [['registry.data.strings', { category: REGISTRY_CATEGORIES }]],
  EventType: [['event.action', { category: REGISTRY_CATEGORIES }]],
  // Network connections and DNS.
  DestinationIp: ['destination.ip'],
  DestinationPort: ['destination.port'],
  DestinationHostname: ['destination.domain'],
  SourceIp: ['source.ip'],
  SourcePort: ['source.port'],
  SourceHostname: ['source.domain'],
  Protocol: [['network.transport', { category: ['network_connection'] }]],
  QueryName: ['dns.question.name'],
  QueryStatus: ['dns.response_code'],
  // Security log logons.
  TargetUserName: [['user.name', { category: [] }]],
  IpAddress: ['source.ip'],
  IpPort: ['source.port'],
  WorkstationName: ['source.domain'],
  // Web server and proxy logs (W3C extended log names).
  'c-uri': ['url.original'],
  'cs-uri': ['url.original'],
  'c-uri-query': ['url.query'],
  'cs-uri-query': ['url.query'],
  'c-uri-stem': ['url.path'],
  'cs-uri-stem': ['url.path'],
  'cs-method': ['http.request.method'],
  'c-useragent': ['user_agent.original'],
  'cs-user-agent': ['user_agent.original'],
  'sc-status': ['http.response.status_code'],
  'c-ip': ['source.ip'],
  'cs-host': ['url.domain'],
  'r-dns': ['url.domain'],
  'cs-referrer': ['http.request.referrer'],
  'cs-referer': ['http.request.referrer'],
  'cs-bytes': ['http.request.bytes'],
  'sc-bytes': ['http.response.bytes'],
  'cs-version': ['http.version'],
  'cs-username': ['user.name'],
  's-ip': ['destination.ip'],
  's-port': ['destination.port'],
  // Firewall logs.
  src_ip: ['source.ip'],
  src_port: ['source.port'],
  dst_ip: ['destination.ip'],
  dst_port: ['destination.port'],
  username: ['user.name'],
  action: ['event.action'],
  // Antivirus.
  Filename: [['file.path', { category: ['antivirus'] }]],
};

/** Fields of the Windows <System> header: never looked up in EventData. */
const WINDOWS_SYSTEM: Readonly<Record<string, readonly string[]>> = {
  EventID: ['event.code'],
  Channel: ['winlog.channel'],
  Provider_Name: ['winlog.provider_name', 'event.provider'],
  EventRecordID: ['winlog.record_id'],
  Security_UserID: ['winlog.user.identifier'],
  Level: ['winlog.level'],
};
/** System fields that some events also carry in EventData under the same name. */
const WINDOWS_HEADER: Readonly<Record<string, readonly string[]>> = {
  Computer: ['winlog.computer_name', 'host.name'],
  ComputerName: ['winlog.computer_name', 'host.name'],
};

const lowerNames = new Map<string, string>();
for (const k of [...Object.keys(FIELD_MAP), ...Object.keys(WINDOWS_SYSTEM), ...Object.keys(WINDOWS_HEADER)]) lowerNames.set(k.toLowerCase(), k);

/**
 * One way of reading a field: a key of the Windows EventData object (read once per event), the same
 * key written with spaces, the unnamed <Data> values, or an ECS / extra_json field through fieldGetter.
 */
export type Step =
  | { k: 'data'; key: string }
  | { k: 'spaceless'; key: string }
  | { k: 'unnamed' }
  | { k: 'get'; get: Getter; defaultsAbsent: boolean };

/** A Sigma field resolved for one logsource: the event fields tried in order, the first present one wins. */
export interface FieldRef {
  /** Identifies the resolution: equal keys read the same value from any event. */
  key: string;
  paths: readonly string[];
  steps: readonly Step[];
  /** Whether a step reads the EventData object. */
  usesData: boolean;
}

function inScope(scope: Scope, ls: Logsource): boolean {
  if (scope.category && !(ls.category !== undefined && scope.category.includes(ls.category))) return false;
  if (scope.product && !(ls.product !== undefined && scope.product.includes(ls.product))) return false;
  return true;
}

/** Whether rules of this logsource may read Windows EventData (Windows, or a product-less generic category). */
export function readsWinlog(ls: Logsource): boolean {
  if (ls.product) return ls.product === 'windows';
  return !(ls.category && (WEB_CATEGORIES.includes(ls.category) || ls.category === 'firewall'));
}

const refs = new Map<string, FieldRef>();

/** The Windows EventData object of an event (extra_json is parsed once per event by fieldGetter). */
export const getEventData = fieldGetter('winlog.event_data');
const EVENT_DATA = 'winlog.event_data.';
/** Marks the path that reads an EventData name written with spaces ("Source Name" for SourceName). */
const SPACELESS = 'winlog.event_data[spaceless].';
/** Marks the path that reads the unnamed <Data> elements (kept as Data1, Data2, ... in EventData). */
const UNNAMED = 'winlog.event_data[unnamed]';

type Data = Record<string, unknown>;

/**
 * The EventData object of one event, with the two lookups that need a pass over its keys (names
 * written with spaces, unnamed <Data> values) done at most once. Reused from event to event.
 */
export class EventDataView {
  data: Data | undefined;
  private spacelessKeys: Map<string, string> | null | undefined;
  private unnamedValues: string[] | null | undefined;

  reset(data: unknown): void {
    this.data = data !== null && typeof data === 'object' ? (data as Data) : undefined;
    this.spacelessKeys = undefined;
    this.unnamedValues = undefined;
  }

  private scan(): void {
    this.spacelessKeys = null;
    this.unnamedValues = null;
    const d = this.data!;
    for (const k in d) {
      if (k.includes(' ')) (this.spacelessKeys ??= new Map()).set(k.replace(/ /g, ''), k);
      else if (k.length > 4 && k.startsWith('Data') && /^Data\d+$/.test(k)) (this.unnamedValues ??= []).push(String(d[k]));
    }
  }

  /** Sigma writes EventData names without their spaces ("Threat Name" -> ThreatName). */
  spaceless(name: string): unknown {
    if (!this.data) return undefined;
    if (this.spacelessKeys === undefined) this.scan();
    const k = this.spacelessKeys?.get(name);
    return k === undefined ? undefined : this.data[k];
  }

  /** Sigma's `Data` on Windows: the values of the <Data> elements that have no Name. */
  unnamed(): string[] | undefined {
    if (!this.data) return undefined;
    if (this.unnamedValues === undefined) this.scan();
    return this.unnamedValues ?? undefined;
  }
}

function stepOf(path: string): Step {
  if (path === UNNAMED) return { k: 'unnamed' };
  if (path.startsWith(SPACELESS)) return { k: 'spaceless', key: path.slice(SPACELESS.length) };
  if (path.startsWith(EVENT_DATA) && !path.slice(EVENT_DATA.length).includes('.')) return { k: 'data', key: path.slice(EVENT_DATA.length) };
  // Typed ECS fields cannot tell "absent" from the proto3 default; extra_json fields can.
  return { k: 'get', get: fieldGetter(path), defaultsAbsent: ecsField(path) !== undefined };
}

function makeRef(paths: string[]): FieldRef {
  const key = paths.join('|');
  let ref = refs.get(key);
  if (!ref) {
    const steps = paths.map(stepOf);
    ref = { key, paths, steps, usesData: steps.some((s) => s.k !== 'get') };
    refs.set(key, ref);
  }
  return ref;
}

/** The ECS fields a Sigma field maps to for a logsource (without the Windows EventData lookup). */
export function mappedFields(sigmaName: string, ls: Logsource): string[] {
  const name = FIELD_MAP[sigmaName] ? sigmaName : lowerNames.get(sigmaName.toLowerCase()) ?? sigmaName;
  const targets = FIELD_MAP[name] ?? [];
  const out: string[] = [];
  for (const t of targets) {
    if (typeof t === 'string') out.push(t);
    else if (inScope(t[1], ls)) out.push(t[0]);
  }
  return out;
}

/**
 * Resolves a Sigma field name for a rule's logsource. Names with a dot (ECS taxonomy, labels.x,
 * winlog.x) are read as written.
 */
export function resolveField(sigmaName: string, ls: Logsource): FieldRef {
  if (sigmaName.includes('.')) return makeRef([sigmaName]);
  const canonical = lowerNames.get(sigmaName.toLowerCase()) ?? sigmaName;
  const win = readsWinlog(ls);
  if (win && WINDOWS_SYSTEM[canonical]) return makeRef([...WINDOWS_SYSTEM[canonical]!]);
  const paths: string[] = [];
  if (win) paths.push(`winlog.event_data.${sigmaName}`, `${SPACELESS}${sigmaName}`);
  if (win && sigmaName === 'Data') paths.push(UNNAMED);
  if (win && WINDOWS_HEADER[canonical]) paths.push(...WINDOWS_HEADER[canonical]!);
  const mapped = mappedFields(sigmaName, ls);
  paths.push(...mapped);
  // A name without a mapping may still be a field the source kept as is in extra_json.
  if (mapped.length === 0) paths.push(sigmaName);
  return makeRef([...new Set(paths)]);
}

/**
 * Reads a resolved field: the first present value, or undefined. `view` is the event's EventData view
 * when the caller keeps one per event (otherwise one is made here when needed).
 */
export function readField(ref: FieldRef, e: Event, view?: EventDataView): unknown {
  const steps = ref.steps;
  if (!view && ref.usesData) {
    view = new EventDataView();
    view.reset(getEventData(e));
  }
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    let v: unknown;
    switch (s.k) {
      case 'data': v = view!.data?.[s.key]; break;
      case 'spaceless': v = view!.spaceless(s.key); break;
      case 'unnamed': v = view!.unnamed(); break;
      default:
        v = s.get(e);
        if (s.defaultsAbsent && (v === '' || (Array.isArray(v) && v.length === 0))) continue;
    }
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}
