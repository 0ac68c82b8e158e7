// The typed view of MiniSOC's PostgreSQL schema, for kysely.
import type { ColumnType, Generated, GeneratedAlways } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface EventsTable {
  id: string;
  ts: Timestamp;
  source_id: string;
  kind: string | null;
  category: string[];
  action: string | null;
  outcome: string | null;
  host_name: string | null;
  agent_id: string | null;
  user_name: string | null;
  source_ip: string | null;
  source_port: number | null;
  destination_ip: string | null;
  destination_port: number | null;
  process_name: string | null;
  message: string | null;
  tags: string[];
  doc: Json;
  ingested_at: Generated<Date>;
}

export type AlertStatus = 'open' | 'acknowledged' | 'closed';

export interface AlertsTable {
  id: string;
  dedup_key: string;
  rule_id: string;
  rule_title: string;
  level: string;
  score: number;
  status: Generated<AlertStatus>;
  close_reason: string | null;
  assignee: string | null;
  count: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
  techniques: string[];
  tactics: string[];
  tags: string[];
  event_ids: string[];
  host_name: string | null;
  user_name: string | null;
  source_ip: string | null;
  destination_ip: string | null;
  agent_id: string | null;
  source_id: string | null;
  description: string | null;
  doc: Json;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface AlertMatchesTable {
  match_id: string;
  alert_id: string;
  received_at: Generated<Date>;
}

type WithDefault<T> = ColumnType<T, T | undefined, T>;

export interface AgentsTable {
  id: string;
  hostname: string | null;
  os: string | null;
  version: string | null;
  ips: WithDefault<string[]>;
  tags: WithDefault<string[]>;
  status: WithDefault<string>;
  status_reason: string | null;
  first_seen: ColumnType<Date, Date | string | undefined, Date | string>;
  last_seen: ColumnType<Date, Date | string | undefined, Date | string>;
  doc: ColumnType<unknown, string | undefined, string>;
}

export interface CommandsTable {
  id: string;
  agent_id: string;
  action: string;
  args: Json;
  status: string;
  issued_by: string;
  issued_at: Timestamp;
  expires_at: Timestamp;
  delivered_at: Timestamp | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  exit_code: number | null;
  output: string | null;
  error: string | null;
}

export interface DeadLettersTable {
  id: string;
  stage: string;
  stream: string;
  subject: string;
  sequence: string;
  record_index: number;
  source_id: string | null;
  error: string;
  payload: Buffer;
  failed_at: Timestamp;
  stored_at: Generated<Date>;
  retried_at: Timestamp | null;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor: string;
  action: string;
  target: string | null;
  detail: Json;
}

export interface UsersTable {
  name: string;
  role: string;
  password_hash: string;
  created_at: Generated<Date>;
  disabled: Generated<boolean>;
}

export interface AuthTokensTable {
  token_hash: string;
  user_name: string;
  kind: 'session' | 'api';
  label: string | null;
  created_at: Generated<Date>;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface SuppressionsTable {
  id: string;
  rule_id: string;
  field: string;
  value: string;
  until: Timestamp;
  reason: string;
  created_by: string;
  created_at: Generated<Date>;
  /** int8: read as a string. */
  hits: ColumnType<string, string | number | undefined, string | number>;
}

export interface EnrollmentTokensTable {
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by_agent: string | null;
  tags: WithDefault<string[]>;
  created_by: string;
}

export interface AgentCredentialsTable {
  public_key: string;
  agent_id: string;
  jwt_id: string;
  issued_at: Generated<Date>;
  revoked_at: Timestamp | null;
  tags: WithDefault<string[]>;
}

export interface IngestSourcesTable {
  name: string;
  format: string;
  /** What the source is (SOURCE_KINDS), '' when not declared. */
  kind: Generated<string>;
  /** The host the source runs on, given to its events that name none; '' when not declared. */
  host: Generated<string>;
  token_hash: string;
  created_at: Generated<Date>;
  created_by: string;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

/** Connections per hour, address pair and event source (migration 011), written by the store with the events. */
export interface NetworkFlowsTable {
  bucket: Timestamp;
  source_ip: string;
  destination_ip: string;
  source_id: string;
  connections: ColumnType<string, number | string, number | string>;
  bytes: number;
  source_country: string | null;
  source_asn: ColumnType<string | null, number | null, number | null>;
  destination_country: string | null;
  destination_asn: ColumnType<string | null, number | null, number | null>;
  source_intel: boolean;
  destination_intel: boolean;
  /** The /24 or /64 network the map draws a public address as, NULL for a private one (generated; migration 013). */
  source_group: GeneratedAlways<string | null>;
  destination_group: GeneratedAlways<string | null>;
}

/** Which host owned an address in an hour (migration 011). */
export interface NetworkHostsTable {
  bucket: Timestamp;
  address: string;
  host: string;
}

export interface Database {
  events: EventsTable;
  alerts: AlertsTable;
  alert_matches: AlertMatchesTable;
  agents: AgentsTable;
  commands: CommandsTable;
  dead_letters: DeadLettersTable;
  audit_log: AuditLogTable;
  users: UsersTable;
  auth_tokens: AuthTokensTable;
  suppressions: SuppressionsTable;
  enrollment_tokens: EnrollmentTokensTable;
  agent_credentials: AgentCredentialsTable;
  ingest_sources: IngestSourcesTable;
  network_flows: NetworkFlowsTable;
  network_hosts: NetworkHostsTable;
}
