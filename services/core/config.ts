// Typed configuration from the environment, validated once at start with a message per bad value.
import { z } from 'zod';
import { ConfigError } from './errors.js';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  /** NATS server URL(s), comma separated. `soc up` starts its own nats-server when unset. */
  NATS_URL: z.string().optional(),
  /** Path to a NATS .creds file for the backend's own connection. */
  NATS_CREDS: z.string().optional(),
  /** CA bundle (PEM) that signed the NATS server's certificate: the backend connects with TLS when set. */
  NATS_TLS_CA: z.string().optional(),
  /** Client certificate and key (PEM) for NATS servers that verify clients (mTLS). */
  NATS_TLS_CERT: z.string().optional(),
  NATS_TLS_KEY: z.string().optional(),
  /** Operator, account and signing keys made by `soc init` (default: DATA_DIR/nats-auth); agent enrollment needs them. */
  NATS_AUTH_DIR: z.string().optional(),
  /** NATS URL(s) enrolled agents are told to use, comma separated (default: NATS_URL). */
  AGENT_NATS_URLS: z.string().optional(),
  /** How long an enrolled agent's NATS credentials last; agents renew them before (POST /api/enroll/renew). */
  AGENT_CREDS_TTL_S: positiveInt.default(30 * 86400),
  /** Limits in every agent's user JWT: largest message (the agent's batchMaxBytes must stay below) and subscriptions. */
  AGENT_MAX_PAYLOAD_BYTES: positiveInt.default(2 * 1024 * 1024),
  AGENT_MAX_SUBS: positiveInt.default(16),
  /** Enrollment requests (POST /api/enroll) one address may make per minute. */
  ENROLL_RATE_LIMIT_PER_MIN: positiveInt.default(30),
  /** HTTPS for the API: certificate and key (PEM); with TLS_CA_FILE, client certificates signed by that CA are requested. */
  TLS_CERT_FILE: z.string().optional(),
  TLS_KEY_FILE: z.string().optional(),
  TLS_CA_FILE: z.string().optional(),
  /** Browser origins allowed to call the API (CORS), comma separated; unset: none. `*` is refused. */
  CORS_ORIGINS: z.string().optional().refine((v) => !v?.split(',').some((o) => o.trim() === '*'), 'list the allowed origins; * is not accepted'),
  /** PostgreSQL connection string. `soc up` starts an embedded Postgres when unset. */
  DATABASE_URL: z.string().url().optional(),
  /** The schema owner's connection, for `soc migrate` only (migrations, then rights for DATABASE_URL's role); services never read it. */
  DATABASE_OWNER_URL: z.string().url().optional(),
  /** Whether a service migrates the schema at start as DATABASE_URL's role. false (deploy/): `soc migrate` does it as the
   * owner and the services, connected as a role without DDL rights, wait until the schema is current. */
  DATABASE_MIGRATE: z.stringbool().default(true),
  /** Where `soc up` keeps JetStream, the embedded Postgres and runtime state. */
  DATA_DIR: z.string().default('./data'),
  /** Address and port of the HTTP API (ingest, /metrics, /healthz). */
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: port.default(8080),
  /** Failed sign-ins one account, and one address, may make in LOGIN_LOCKOUT_MS before it is locked for LOGIN_LOCKOUT_MS. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: positiveInt.default(20),
  LOGIN_LOCKOUT_MS: positiveInt.default(15 * 60_000),
  /** Analysts' reads (search, incidents, network) run on their own pool of this many connections, each statement
   * cancelled after ANALYST_QUERY_TIMEOUT_MS, so slow searches cannot take the connections or the time of writes. */
  ANALYST_DB_POOL_MAX: positiveInt.max(100).default(4),
  ANALYST_QUERY_TIMEOUT_MS: positiveInt.default(15_000),
  /** Bearer token that may read /metrics on the HTTP port (Prometheus); without it, only an admin's session may. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** Port for /metrics of a service running alone without the HTTP API (0 = off). */
  METRICS_PORT: port.default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Longest time a client may take to send a whole request (headers and body): a slow sender holds a connection no longer. */
  HTTP_REQUEST_TIMEOUT_MS: positiveInt.default(60_000),
  /** Largest accepted POST /api/ingest body. */
  INGEST_MAX_BODY_BYTES: positiveInt.default(10 * 1024 * 1024),
  /** Accept POST /api/ingest without a source token (development only): requests are then filed under ?source= as given. */
  INGEST_ALLOW_ANONYMOUS: z.stringbool().default(false),
  /** Requests one ingest token may make per minute (anonymous requests are not limited). */
  INGEST_RATE_LIMIT_PER_MIN: positiveInt.default(1200),
  /** Records per RawBatch message published by ingest. */
  INGEST_BATCH_RECORDS: positiveInt.max(10_000).default(500),
  /** Syslog listener ports (0 = off); messages are filed under SYSLOG_SOURCE. */
  SYSLOG_UDP_PORT: port.default(0),
  SYSLOG_TCP_PORT: port.default(0),
  /** Longest syslog message kept whole; longer ones are cut there and counted (minisoc_syslog_truncated_total). */
  SYSLOG_MAX_MESSAGE_BYTES: positiveInt.max(1024 * 1024).default(64 * 1024),
  SYSLOG_SOURCE: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only').default('syslog'),
  /** Directories of Sigma rules (comma separated), reloaded when a file changes: MiniSOC's own pack and the SigmaHQ pack. */
  RULES_DIR: z.string().default('./rules,./rules-sigmahq'),
  /** The rules policy (YAML or JSON: statuses, folders, enable, disable, levels, placeholders); default DATA_DIR/rules-policy.yml, built-in defaults when missing. */
  RULES_POLICY: z.string().optional(),
  /** Where versions before the RULE_FILTERS KV bucket saved false-positive filters; still loaded by detect when it exists, never written. Default DATA_DIR/rules-filters. */
  RULES_FILTERS_DIR: z.string().optional(),
  /** This detect instance evaluates shard i of N of the rules ("i/N"). */
  DETECT_SHARD: z.string().default('0/1'),
  /** How many detect shards run: every service needs the same value, as it decides the durables on ENRICHED. */
  DETECT_SHARDS: positiveInt.max(64).default(1),
  /** How often correlation state is checkpointed to the DETECT_STATE KV bucket. */
  DETECT_CHECKPOINT_MS: positiveInt.default(5000),
  /** Batches a stage processes at once; more are left in the stream (backpressure). */
  STAGE_MAX_IN_FLIGHT: positiveInt.max(1024).default(8),
  /** How long a stage may hold a message before JetStream redelivers it (bounds recovery after a crash). */
  STAGE_ACK_WAIT_MS: z.coerce.number().int().min(1000).default(30_000),
  /** Ceiling of the redelivery delay after a transient failure. */
  STAGE_MAX_BACKOFF_MS: positiveInt.default(30_000),
  /** soc up kills and restarts a service whose event loop gave no sign of life for this long. */
  SERVICE_STALL_MS: positiveInt.min(2000).default(20_000),
  /** V8 heap ceiling of each service process under soc up: a runaway service dies alone. */
  SERVICE_MAX_OLD_SPACE_MB: positiveInt.min(64).default(1024),
  /**
   * V8's young-generation semi-space of each service process under soc up (--max-semi-space-size): the stages make
   * short-lived objects per event, and Node's 16 MB default scavenges them often (docs/performance.md).
   */
  SERVICE_SEMI_SPACE_MB: positiveInt.max(256).default(32),
  /** The poison rule: a message delivered more than this many times (it crashed or stalled its stage) is dead-lettered. */
  STAGE_MAX_DELIVERIES: positiveInt.max(100).default(5),
  /** Bytes each pipeline stream may hold before publishers are refused (backpressure, never loss). */
  STREAM_MAX_BYTES: positiveInt.default(1024 * 1024 * 1024),
  /**
   * Telemetry batches of one agent that may wait unconsumed in JetStream (nats-server 2.10+). Past it that agent's
   * publishes are refused and it keeps its batches in its own spool until the pipeline catches up.
   */
  AGENT_MAX_BACKLOG_BATCHES: positiveInt.default(1000),
  /** Replicas of each stream: 3 on a NATS cluster. */
  STREAM_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  /** Age after which a stream drops messages that no consumer has acknowledged. */
  STREAM_MAX_AGE_S: positiveInt.default(7 * 24 * 3600),
  /** Days of events kept in Postgres; older daily partitions are dropped (0 = keep all). */
  RETENTION_DAYS: z.coerce.number().int().min(0).default(30),
  /** A MaxMind-format Country or City database (.mmdb) for GeoIP; unset: the shipped country-level database. Reloaded when the file changes. */
  GEOIP_CITY_DB: z.string().optional(),
  /** A MaxMind-format ASN database (.mmdb, e.g. GeoLite2-ASN) for source/destination.as; unset: no AS data. */
  GEOIP_ASN_DB: z.string().optional(),
  /** Addresses whose GeoIP answer enrich keeps in memory (those unused the longest are dropped first). */
  GEOIP_CACHE_ENTRIES: positiveInt.min(2).default(50_000),
  /** Threat-intelligence feed definitions (YAML or JSON, see services/enrich/README.md); unset: no threat intel. Reloaded when it changes. */
  INTEL_FEEDS_FILE: z.string().optional(),
  /** How long enrich waits for a feed URL to answer. */
  INTEL_FETCH_TIMEOUT_MS: positiveInt.default(30_000),
  /** Largest feed (file or download, after gunzip) enrich reads; a bigger one fails to load. */
  INTEL_FEED_MAX_BYTES: positiveInt.default(64 * 1024 * 1024),
  /** How often enrich reloads the asset registry (the agents table) from PostgreSQL. */
  ASSETS_REFRESH_INTERVAL_MS: positiveInt.default(60_000),
  /** Services `soc up` runs in its process, comma separated (default: all). */
  SOC_SERVICES: z.string().optional(),
  /** Heartbeat interval assumed for agents that do not state theirs. */
  HEARTBEAT_INTERVAL_S: positiveInt.default(10),
  /** Heartbeat intervals without a heartbeat after which an agent is offline. */
  HEARTBEAT_MISSED_OFFLINE: positiveInt.default(3),
  /** Agent clock ahead or behind the server by more than this: degraded. */
  HEARTBEAT_MAX_SKEW_MS: positiveInt.default(30_000),
  /** How long a drop or a collector error keeps an agent degraded after it was last reported. */
  AGENT_DEGRADED_HOLD_MS: positiveInt.default(300_000),
  /** Commands not delivered by then expire (POST may ask for less or more, up to 7 days). */
  COMMAND_DEFAULT_EXPIRY_S: positiveInt.default(3600),
  /** How long a delivered command may wait for its result before it is timed out. */
  COMMAND_RESULT_TIMEOUT_MS: positiveInt.default(300_000),
});

export type Config = z.infer<typeof schema>;

/** Reads and validates the configuration; throws one ConfigError listing every bad value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Record<keyof Config, string>> = {}): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = overrides[key as keyof Config] ?? env[key];
    input[key] = v === '' ? undefined : v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}=${JSON.stringify(input[String(i.path[0])])}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
