// Decentralised NATS auth for MiniSOC: operator, system and MiniSOC accounts, the backend's credentials (one file
// for soc up, one per service for deploy/), the nats-server configuration (full resolver) and the account JWT
// re-signed with revocations.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from './errors.js';
import { agentInboxPrefix, subjects } from './topology.js';

export const ACCOUNT_NAME = 'MINISOC';

/** The services that run as their own containers in deploy/, each with its own NATS user (creds/<name>.creds). */
export const SERVICE_NAMES = ['http', 'normalize', 'enrich', 'detect', 'store', 'heartbeat', 'command'] as const;

export interface NatsAuth {
  dir: string;
  operator: KeyPair;
  system: KeyPair;
  account: KeyPair;
  /** Signs user JWTs (backend, agents); the account's identity key only signs nothing but itself. */
  signer: KeyPair;
  /** The backend's credentials: every subject of the MiniSOC account. */
  backendCreds: string;
  /** One user per deployed service (creds/<service>.creds), each with the account's full permissions for now. */
  serviceCreds: Record<(typeof SERVICE_NAMES)[number], string>;
  /** A system-account user: pushes account JWT updates ($SYS.REQ.CLAIMS.UPDATE). */
  systemCreds: string;
  /** The nats-server config fragment (operator, system_account, resolver) to include. */
  includeFile: string;
  /** Only the operator, the system account and the preloaded account JWTs, with no path of this machine in it:
   * what deployed servers include beside their own resolver directory and TLS files (deploy/). */
  accountsFile: string;
  /** A complete server config: the repository's nats.conf plus the include. */
  serverConfig: string;
}

interface KeyFile { operator: string; system: string; account: string; signer: string }

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Files holding seeds or credentials: readable by their owner only. */
function writeSecret(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Where the keys live: NATS_AUTH_DIR, else DATA_DIR/nats-auth. */
export function authDir(config: { NATS_AUTH_DIR?: string; DATA_DIR: string }): string {
  return resolve(config.NATS_AUTH_DIR ?? join(config.DATA_DIR, 'nats-auth'));
}

function paths(dir: string) {
  return {
    keys: join(dir, 'keys.json'), accountJwt: join(dir, 'account.jwt'), resolverDir: join(dir, 'jwt'),
    backendCreds: join(dir, 'backend.creds'), systemCreds: join(dir, 'system.creds'),
    includeFile: join(dir, 'auth.conf'), serverConfig: join(dir, 'server.conf'), accountsFile: join(dir, 'accounts.conf'),
    credsDir: join(dir, 'creds'),
  };
}

function serviceCredsPaths(dir: string): NatsAuth['serviceCreds'] {
  return Object.fromEntries(SERVICE_NAMES.map((n) => [n, join(paths(dir).credsDir, `${n}.creds`)])) as NatsAuth['serviceCreds'];
}

function repoNatsConf(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = resolve(here, up, 'nats.conf');
    if (existsSync(p)) return p;
  }
  throw new ConfigError('nats.conf not found beside the repository root');
}

/** Reads the keys under `dir` (made by `soc init` or the first `soc up`); a ConfigError when there are none. */
export function loadNatsAuth(dir: string): NatsAuth {
  const p = paths(dir);
  let k: KeyFile;
  try {
    k = JSON.parse(readFileSync(p.keys, 'utf8')) as KeyFile;
  } catch (err) {
    throw new ConfigError(`no NATS keys in ${dir} (run soc init, or soc up without NATS_URL, first)`, { cause: err });
  }
  const key = (s: string) => fromSeed(enc.encode(s));
  return {
    dir, operator: key(k.operator), system: key(k.system), account: key(k.account), signer: key(k.signer),
    backendCreds: p.backendCreds, serviceCreds: serviceCredsPaths(dir), systemCreds: p.systemCreds, includeFile: p.includeFile,
    serverConfig: p.serverConfig, accountsFile: p.accountsFile,
  };
}

// The library's defaults allow no connection at all: both accounts are unlimited, and MiniSOC's has JetStream.
const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
const WITH_JETSTREAM = { ...UNLIMITED, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

/** The MiniSOC account JWT with these revoked user keys (public key -> revoked-before, unix seconds). */
export async function accountJwt(auth: NatsAuth, revocations: Record<string, number> = {}): Promise<string> {
  const claims: Partial<Account> = { signing_keys: [auth.signer.getPublicKey()], limits: WITH_JETSTREAM };
  if (Object.keys(revocations).length) claims.revocations = revocations;
  return encodeAccount(ACCOUNT_NAME, auth.account, claims, { signer: auth.operator });
}

function currentAccountJwt(dir: string): string {
  return readFileSync(paths(dir).accountJwt, 'utf8').trim();
}

/** Writes the server config fragment and the full config, preloading the current account JWTs. */
async function writeServerConfig(auth: NatsAuth, tls?: ServerTls): Promise<void> {
  const p = paths(auth.dir);
  mkdirSync(p.resolverDir, { recursive: true, mode: 0o700 });
  const operatorJwt = await encodeOperator('MiniSOC', auth.operator, { system_account: auth.system.getPublicKey() });
  const systemJwt = await encodeAccount('SYS', auth.system, { limits: UNLIMITED }, { signer: auth.operator });
  const accounts = [
    '# Generated by MiniSOC (soc init / soc up): the operator and the accounts. Do not edit; it is rewritten.',
    '# It names no file of this machine, so deployed servers include it beside their own resolver and TLS settings.',
    `operator: ${operatorJwt}`,
    `system_account: ${auth.system.getPublicKey()}`,
    'resolver_preload: {',
    `  ${auth.system.getPublicKey()}: ${systemJwt}`,
    `  ${auth.account.getPublicKey()}: ${currentAccountJwt(auth.dir)}`,
    '}',
  ];
  writeSecret(p.accountsFile, accounts.join('\n') + '\n');
  const include = [
    '# Generated by MiniSOC (soc init / soc up): decentralised JWT auth. Do not edit; it is rewritten.',
    'include ./accounts.conf',
    // The full resolver keeps account JWTs in a directory and takes updates at run time (revocations).
    `resolver: { type: full, dir: ${JSON.stringify(p.resolverDir)}, allow_delete: false, interval: "2m", timeout: "5s" }`,
  ];
  if (tls) {
    include.push('tls {', `  cert_file: ${JSON.stringify(tls.certFile)}`, `  key_file: ${JSON.stringify(tls.keyFile)}`);
    if (tls.caFile) include.push(`  ca_file: ${JSON.stringify(tls.caFile)}`);
    if (tls.verify) include.push('  verify: true');
    include.push('  timeout: 5', '}');
  }
  writeSecret(p.includeFile, include.join('\n') + '\n');
  writeSecret(p.serverConfig, `${readFileSync(repoNatsConf(), 'utf8')}\ninclude ./auth.conf\n`);
}

export interface ServerTls { certFile: string; keyFile: string; caFile?: string; verify?: boolean }

/**
 * Creates the keys, account JWT and credentials under `dir` when they are missing, and (re)writes the
 * server config every time (the repository's nats.conf may have changed). `created` tells whether keys were new.
 */
export async function ensureNatsAuth(dir: string, opts: { tls?: ServerTls } = {}): Promise<{ auth: NatsAuth; created: boolean }> {
  const p = paths(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let created = false;
  if (!existsSync(p.keys)) {
    const seed = (k: KeyPair) => dec.decode(k.getSeed());
    const keys: KeyFile = { operator: seed(createOperator()), system: seed(createAccount()), account: seed(createAccount()), signer: seed(createAccount()) };
    writeSecret(p.keys, JSON.stringify(keys, null, 2) + '\n');
    created = true;
  }
  const auth = loadNatsAuth(dir);
  if (created || !existsSync(p.accountJwt)) writeSecret(p.accountJwt, await accountJwt(auth) + '\n');
  if (created || !existsSync(p.backendCreds)) {
    const kp = createUser();
    const jwt = await encodeUser('minisoc-backend', kp, auth.account, {}, { signer: auth.signer });
    writeSecret(p.backendCreds, fmtCreds(jwt, kp));
  }
  mkdirSync(p.credsDir, { recursive: true, mode: 0o700 });
  for (const [name, file] of Object.entries(auth.serviceCreds)) {
    if (!created && existsSync(file)) continue;
    // Its own key, so one service's file can be revoked alone and its connections are told apart. Permissions
    // are the account's in full, as for backend.creds: per-service subject permissions are not narrowed yet.
    const kp = createUser();
    writeSecret(file, fmtCreds(await encodeUser(`minisoc-${name}`, kp, auth.account, {}, { signer: auth.signer }), kp));
  }
  if (created || !existsSync(p.systemCreds)) {
    const kp = createUser();
    writeSecret(p.systemCreds, fmtCreds(await encodeUser('minisoc-system', kp, auth.system), kp));
  }
  await writeServerConfig(auth, opts.tls);
  return { auth, created };
}

/** What an agent's user JWT allows: its own subjects, replies to commands, its own inbox. */
export function agentPermissions(agentId: string) {
  return {
    pub: { allow: [subjects.telemetry(agentId), subjects.heartbeat(agentId), subjects.commandResult(agentId)] },
    sub: { allow: [subjects.command(agentId), `${agentInboxPrefix(agentId)}.>`] },
    // The command service sends commands as requests: the agent may answer on the reply subject, once.
    resp: { max: 1, ttl: 0 },
  };
}

/** What an agent signs to renew its credentials: its id and the time, so a captured request is useless minutes later. */
export function renewalMessage(agentId: string, atMs: number): string {
  return `minisoc-renew:${agentId}:${atMs}`;
}

/** How long an agent's credentials last, and what one connection of an agent may use. */
export interface AgentCredentialLimits {
  ttlS: number;
  /** Largest message (bytes): the agent's batchMaxBytes must stay below it. */
  maxPayloadBytes: number;
  /** Subscriptions: its command subject, its inbox and a few for the client library. */
  maxSubs: number;
  /** Bytes (-1: no limit). Recorded in the JWT; nats-server enforces payload and subscriptions per user. */
  maxDataBytes: number;
}

export const DEFAULT_AGENT_LIMITS: AgentCredentialLimits = { ttlS: 30 * 86400, maxPayloadBytes: 2 * 1024 * 1024, maxSubs: 16, maxDataBytes: -1 };

/**
 * A user JWT for an agent's own public key, signed by the account signing key, expiring exactly `limits.ttlS` after it
 * was issued. The JWT library stamps `iat` itself, after `exp` is chosen; when a second boundary falls in between, the
 * JWT is signed again so the lifetime the agent sees (and renews at two thirds of) is the configured one.
 */
export async function issueAgentJwt(auth: NatsAuth, agentId: string, publicKey: string, tags: string[] = [], limits: AgentCredentialLimits = DEFAULT_AGENT_LIMITS): Promise<{ jwt: string; jti: string; issuedAt: number; expiresAt: number }> {
  for (let attempt = 1; ; attempt++) {
    const exp = Math.floor(Date.now() / 1000) + limits.ttlS;
    const jwt = await encodeUser(`agent-${agentId}`, publicKey, auth.account, {
      ...agentPermissions(agentId), tags, payload: limits.maxPayloadBytes, subs: limits.maxSubs, data: limits.maxDataBytes,
    }, { signer: auth.signer, exp });
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string; iat: number };
    if (claims.iat + limits.ttlS === exp || attempt === 3) return { jwt, jti: claims.jti, issuedAt: claims.iat, expiresAt: exp };
  }
}

/** Re-signs the account JWT with these revocations and keeps it for the next server start (resolver_preload). */
export async function saveAccount(auth: NatsAuth, revocations: Record<string, number>): Promise<string> {
  const jwt = await accountJwt(auth, revocations);
  writeSecret(paths(auth.dir).accountJwt, jwt + '\n');
  return jwt;
}

/**
 * Pushes an account JWT to a running server through a system-account connection ($SYS.REQ.CLAIMS.UPDATE,
 * taken by the full resolver). The server then drops every connection of a revoked key.
 */
export async function pushAccountJwt(systemNc: NatsConnection, jwt: string): Promise<void> {
  const res = await systemNc.request('$SYS.REQ.CLAIMS.UPDATE', enc.encode(jwt), { timeout: 10_000 });
  const body = JSON.parse(dec.decode(res.data)) as { error?: { description?: string } };
  if (body.error) throw new Error(`nats-server refused the account update: ${body.error.description ?? JSON.stringify(body.error)}`);
}
