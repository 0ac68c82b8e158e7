// Agent settings from a YAML/JSON file, SOC_AGENT_* variables and flags, validated with a message per bad key.
import { existsSync, readFileSync } from 'node:fs';
import { homedir, hostname } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError } from '../services/core/errors.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Subject tokens allow letters, digits, '_' and '-' (services/core/topology.ts checkToken). */
export function sanitizeId(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
  return id || 'agent';
}

function defaultDataDir(): string {
  return process.platform !== 'win32' && process.getuid?.() === 0 ? '/var/lib/soc-agent' : join(homedir(), '.soc-agent');
}

const urls = z.preprocess(
  (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
  z.array(z.string().regex(/^(nats|tls|ws|wss):\/\/\S+$|^[^\s:/]+:\d+$/, 'must be a NATS URL such as nats://host:4222')).min(1),
);

const schema = z.strictObject({
  /** Names this agent in every subject (telemetry.<id>, hb.<id>, cmd.<id>, cmdres.<id>). */
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -').default(() => sanitizeId(hostname())),
  /** NATS server URL(s); a list or comma separated. */
  natsUrls: urls.default(['nats://127.0.0.1:4222']),
  /** NATS .creds file (user JWT and nkey seed); default: dataDir/agent.creds once `soc-agent enroll` wrote it. */
  credsFile: z.string().min(1).optional(),
  /** CA (PEM) of the NATS server's certificate: the agent connects with TLS. */
  natsCaFile: z.string().min(1).optional(),
  /** Client certificate and key (PEM) for a NATS server that verifies clients (mTLS). */
  natsCertFile: z.string().min(1).optional(),
  natsKeyFile: z.string().min(1).optional(),
  /** MiniSOC's HTTP(S) base URL and a one-time token: `run` enrolls first when it has no credentials yet. */
  enrollServer: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s):// URL').optional(),
  enrollToken: z.string().min(1).optional(),
  /** How often the agent checks whether its credentials are due for renewal (at enrollServer). */
  renewCheckIntervalS: int(1, 86_400).default(3600),
  /** CA (PEM) of the HTTPS server enrolled with, when it is not in the system's trust store. */
  enrollCaFile: z.string().min(1).optional(),
  /** Spool, batch sequence and lock file. */
  dataDir: z.string().min(1).default(defaultDataDir),
  /** Processes and connections are listed this often. */
  collectIntervalS: int(1, 3600).default(10),
  /** CPU, memory, disk and network use are sampled this often. */
  resourceIntervalS: int(1, 3600).default(10),
  /** Minutes between full inventories (host, every process, every listening port). */
  inventoryIntervalMin: int(1, 7 * 24 * 60).default(60),
  heartbeatIntervalS: int(1, 300).default(10),
  /** A batch is sent when it holds this many events... */
  batchMaxEvents: int(1, 10_000).default(500),
  /** ...or when its first event is this old. */
  batchMaxAgeMs: int(10, 60_000).default(1000),
  /** A batch larger than this once encoded is split (must stay under the server's max_payload). */
  batchMaxBytes: int(16 * 1024, 64 * 1024 * 1024).default(1024 * 1024),
  /** Disk space the spool may use; when full the oldest batch is dropped and counted. */
  spoolMaxBytes: int(64 * 1024, Number.MAX_SAFE_INTEGER).default(256 * 1024 * 1024),
  /** How long to wait for a PubAck before the batch stays spooled and is retried. */
  publishTimeoutMs: int(100, 120_000).default(5000),
  /** A command still running after this is reported timed_out. */
  commandTimeoutMs: int(100, 3_600_000).default(30_000),
  /** Command output beyond this is cut. */
  commandOutputMaxBytes: int(1024, 4 * 1024 * 1024).default(64 * 1024),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Sigma rules evaluated on the host before shipping (off unless set); matches are sent as alert events. */
  localRulesDir: z.string().min(1).optional(),
});

export type AgentConfig = z.infer<typeof schema>;
export type ConfigKey = keyof AgentConfig;
export const CONFIG_KEYS = Object.keys(schema.shape) as ConfigKey[];

/** collectIntervalS -> SOC_AGENT_COLLECT_INTERVAL_S; id -> SOC_AGENT_ID. */
export function envName(key: ConfigKey): string {
  return `SOC_AGENT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

/** What `soc-agent enroll` saved in the data dir; `run` reads it beneath every other source. */
export function enrolledFile(dataDir: string): string {
  return join(dataDir, 'enrolled.json');
}

/** The keys of the enrolled file that are settings (it also keeps `tags` and `server`, for people to read). */
export const ENROLLED_KEYS = ['id', 'natsUrls', 'natsCaFile'] as const satisfies readonly ConfigKey[];

export interface ConfigSources {
  /** Path of a YAML or JSON file (JSON is YAML too). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** From command-line flags: these win over the environment, which wins over the file. */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

function readFile(path: string, label = `--config ${path}`): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${label}: cannot read the file (${(err as Error).message})`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: path });
  } catch (err) {
    throw new ConfigError(`${label}: not valid YAML or JSON: ${(err as Error).message}`, { cause: err });
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${label}: must hold a mapping of settings, not ${Array.isArray(doc) ? 'a list' : typeof doc}`);
  return doc as Record<string, unknown>;
}

/** Reads and validates the configuration; one ConfigError lists every bad key with where it came from. */
export function loadAgentConfig(src: ConfigSources = {}): AgentConfig {
  const env = src.env ?? process.env;
  const input: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  if (src.file) {
    for (const [k, v] of Object.entries(readFile(src.file))) { input[k] = v; origin[k] = `in ${src.file}`; }
  }
  const known = new Set(CONFIG_KEYS.map(envName));
  const unknownEnv = Object.keys(env).filter((k) => k.startsWith('SOC_AGENT_') && !known.has(k));
  if (unknownEnv.length) {
    throw new ConfigError(`unknown setting${unknownEnv.length > 1 ? 's' : ''} ${unknownEnv.join(', ')} (known: ${[...known].join(', ')})`);
  }
  for (const key of CONFIG_KEYS) {
    const v = env[envName(key)];
    if (v !== undefined && v !== '') { input[key] = v; origin[key] = `from ${envName(key)}`; }
    const o = src.overrides?.[key];
    if (o !== undefined) { input[key] = o; origin[key] = 'from the command line'; }
  }
  // Beneath everything else: what enrollment saved in the data dir (the NATS URLs, CA and id the server gave).
  const saved = enrolledFile(typeof input.dataDir === 'string' && input.dataDir ? input.dataDir : defaultDataDir());
  if (existsSync(saved)) {
    const doc = readFile(saved, saved);
    for (const key of ENROLLED_KEYS) {
      if (input[key] === undefined && doc[key] !== undefined) { input[key] = doc[key]; origin[key] = `in ${saved} (saved by soc-agent enroll)`; }
    }
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      if (i.code === 'unrecognized_keys') return `  ${i.keys.join(', ')} ${origin[i.keys[0]!] ?? ''}: unknown setting (known: ${CONFIG_KEYS.join(', ')})`;
      return `  ${key}${i.path.length > 1 ? `[${i.path.slice(1).join('.')}]` : ''} ${origin[key] ?? ''} = ${JSON.stringify(input[key])}: ${i.message}`;
    });
    throw new ConfigError(`invalid agent configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
