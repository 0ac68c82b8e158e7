// Enrollment: the agent makes its own nkey pair (the seed never leaves the host), trades a one-time token and the
// public key for a user JWT at POST /api/enroll, and keeps both as a .creds file readable by its owner only.
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { fmtCreds, parseCreds } from '@nats-io/jwt';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { ConfigError } from '../services/core/errors.js';
import { renewalMessage } from '../services/core/nats-accounts.js';
import { enrolledFile } from './config.js';

export class EnrollFailed extends Error {
  override name = 'EnrollFailed';
}

export interface EnrollOptions {
  server: string;
  token: string;
  agentId: string;
  /** Where the .creds file goes. */
  credsFile: string;
  caFile?: string;
  timeoutMs?: number;
}

export interface Enrolled { credsFile: string; natsUrls: string[]; inboxPrefix: string; tags: string[] }

/** The .creds file an enrolled agent uses when credsFile is not set. */
export function defaultCredsFile(dataDir: string): string {
  return join(dataDir, 'agent.creds');
}

function post(url: URL, body: string, caFile: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const ca = caFile ? readFileSync(caFile) : undefined;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((res, rej) => {
    const req = send(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, ca, timeout: timeoutMs }, (r) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => { text += d; });
      r.on('end', () => res({ status: r.statusCode ?? 0, text }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', rej);
    req.end(body);
  });
}

export async function enroll(o: EnrollOptions): Promise<Enrolled> {
  let url: URL;
  try { url = new URL('/api/enroll', o.server); } catch { throw new ConfigError(`--server ${JSON.stringify(o.server)}: not a URL`); }
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new ConfigError(`--server ${o.server}: enrollment sends a secret token; use https:// (plain http only to this host)`);
  }
  const kp = createUser();
  let answer: { status: number; text: string };
  try {
    answer = await post(url, JSON.stringify({ token: o.token, agentId: o.agentId, publicKey: kp.getPublicKey() }), o.caFile, o.timeoutMs ?? 30_000);
  } catch (err) {
    throw new EnrollFailed(`cannot reach ${url.origin}: ${(err as Error).message}`, { cause: err });
  }
  let body: { jwt?: string; natsUrls?: string[]; inboxPrefix?: string; tags?: string[]; message?: string };
  try { body = JSON.parse(answer.text) as typeof body; } catch { body = {}; }
  if (answer.status !== 200 || !body.jwt) throw new EnrollFailed(`enrollment refused (${answer.status}): ${body.message ?? answer.text.slice(0, 200)}`);
  mkdirSync(dirname(o.credsFile), { recursive: true, mode: 0o700 });
  const tmp = `${o.credsFile}.tmp`;
  writeFileSync(tmp, fmtCreds(body.jwt, kp), { mode: 0o600 });
  renameSync(tmp, o.credsFile);
  return { credsFile: o.credsFile, natsUrls: body.natsUrls ?? [], inboxPrefix: body.inboxPrefix ?? '', tags: body.tags ?? [] };
}

/**
 * Keeps what enrollment gave in the data dir (enrolled.json, read by `soc-agent run` beneath every other
 * setting): the agent id, the server's NATS URLs, the CA (copied beside it, for tls:// URLs) and the tags.
 */
export function saveEnrolled(dataDir: string, o: { agentId: string; server: string; enrolled: Enrolled; caFile?: string }): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const settings: Record<string, unknown> = { id: o.agentId, server: o.server, tags: o.enrolled.tags, enrolledAt: new Date().toISOString() };
  if (o.enrolled.natsUrls.length) settings.natsUrls = o.enrolled.natsUrls;
  if (o.caFile) {
    const ca = join(dataDir, 'ca.pem');
    if (resolve(o.caFile) !== resolve(ca)) copyFileSync(o.caFile, ca);
    if (o.enrolled.natsUrls.some((u) => u.startsWith('tls://'))) settings.natsCaFile = ca;
  }
  const file = enrolledFile(dataDir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
  return file;
}

/** True when the agent has credentials to connect with. */
export function hasCredentials(credsFile: string): boolean {
  return existsSync(credsFile);
}

/** When the credentials in a .creds file expire (ms since the epoch), and when they were issued; exp null: never. */
export async function credentialsTimes(credsFile: string): Promise<{ issuedAtMs: number; expiresAtMs: number | null }> {
  const { uc } = await parseCreds(readFileSync(credsFile));
  return { issuedAtMs: uc.iat * 1000, expiresAtMs: uc.exp ? uc.exp * 1000 : null };
}

/** True once less than a third of the credentials' lifetime is left: time to renew. */
export function renewalDue(t: { issuedAtMs: number; expiresAtMs: number | null }, nowMs = Date.now()): boolean {
  if (t.expiresAtMs === null) return false;
  return t.expiresAtMs - nowMs < (t.expiresAtMs - t.issuedAtMs) / 3;
}

/**
 * Trades the current credentials for fresh ones with the same key at POST /api/enroll/renew, signing the request
 * with the key's seed (which never leaves the host), and replaces the .creds file. The caller reconnects.
 */
export async function renewCredentials(o: { server: string; credsFile: string; agentId: string; caFile?: string; timeoutMs?: number }): Promise<{ expiresAtMs: number }> {
  const url = new URL('/api/enroll/renew', o.server);
  const { key } = await parseCreds(readFileSync(o.credsFile));
  const kp = fromSeed(new TextEncoder().encode(key));
  const atMs = Date.now();
  const signature = Buffer.from(kp.sign(new TextEncoder().encode(renewalMessage(o.agentId, atMs)))).toString('base64url');
  let answer: { status: number; text: string };
  try {
    answer = await post(url, JSON.stringify({ agentId: o.agentId, publicKey: kp.getPublicKey(), atMs, signature }), o.caFile, o.timeoutMs ?? 30_000);
  } catch (err) {
    throw new EnrollFailed(`cannot reach ${url.origin}: ${(err as Error).message}`, { cause: err });
  }
  let body: { jwt?: string; expiresAt?: number; message?: string };
  try { body = JSON.parse(answer.text) as typeof body; } catch { body = {}; }
  if (answer.status !== 200 || !body.jwt) throw new EnrollFailed(`renewal refused (${answer.status}): ${body.message ?? answer.text.slice(0, 200)}`);
  const tmp = `${o.credsFile}.tmp`;
  writeFileSync(tmp, fmtCreds(body.jwt, kp), { mode: 0o600 });
  renameSync(tmp, o.credsFile);
  return { expiresAtMs: (body.expiresAt ?? 0) * 1000 };
}
