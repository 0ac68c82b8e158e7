// Agent credentials against a real nats-server started from the generated configuration (operator, full resolver):
// what an enrolled agent may and may not do, one-time and expiring tokens, and revocation.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { decode, fmtCreds } from '@nats-io/jwt';
import { createUser, type KeyPair } from '@nats-io/nkeys';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest, type Db } from '../services/core/db/index.js';
import { agentInboxPrefix, ensureTopology } from '../services/core/topology.js';
import { EnrollError, createEnrollmentToken, enroll, revokeAgent } from '../services/enroll/enroll.js';
import { addSource } from '../services/ingest/sources.js';
import { ensureNatsAuth, pushAccountJwt, type NatsAuth } from '../services/core/nats-accounts.js';
import { startNatsServer, type LocalNats } from '../tools/local/nats-server.js';
import { credentialsTimes, renewalDue, renewCredentials } from '../agent/enroll.js';
import { loadConfig } from '../services/core/config.js';
import { createLogger } from '../services/core/log.js';
import { buildApp } from '../services/http/app.js';
import { createTestDatabase, tempDir, waitFor, type TestDatabase } from './harness.js';

let dir: string;
let auth: NatsAuth;
let server: LocalNats;
let database: TestDatabase;
let db: Db;
let backend: NatsConnection;
let jsm: JetStreamManager;
const open: NatsConnection[] = [];

beforeAll(async () => {
  dir = tempDir('minisoc-sec-nats-');
  database = await createTestDatabase();
  db = createDb(database.url);
  await migrateToLatest(db);
  ({ auth } = await ensureNatsAuth(join(dir, 'nats-auth')));
  server = await startNatsServer({ storeDir: join(dir, 'js'), configFile: auth.serverConfig });
  backend = await connect({ servers: server.url, authenticator: credsAuthenticator(readFileSync(auth.backendCreds)) });
  jsm = await jetstreamManager(backend);
  await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
}, 120_000);

afterAll(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await backend?.close();
  await db?.destroy();
  await server?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Enrolls `agentId` with a fresh key pair; returns the key and its .creds. */
async function enrolled(agentId: string): Promise<{ kp: KeyPair; creds: Uint8Array }> {
  const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
  const kp = createUser();
  const { jwt } = await enroll(db, auth, { token, agentId, publicKey: kp.getPublicKey() });
  return { kp, creds: fmtCreds(jwt, kp) };
}

/** A connection as the agent would open it, with the errors the server sends it. */
async function agentConnection(agentId: string, creds: Uint8Array): Promise<{ nc: NatsConnection; errors: string[] }> {
  const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(creds), inboxPrefix: agentInboxPrefix(agentId), reconnectTimeWait: 200 });
  open.push(nc);
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: Error }).error?.message ?? ''));
  })();
  return { nc, errors };
}

describe('an enrolled agent', () => {
  it('publishes its own telemetry and heartbeat and gets JetStream acks on its own inbox', async () => {
    const { creds } = await enrolled('web-1');
    const { nc, errors } = await agentConnection('web-1', creds);
    const js = jetstream(nc);
    expect((await js.publish('telemetry.web-1', new TextEncoder().encode('t'))).stream).toBe('TELEMETRY');
    expect((await js.publish('hb.web-1', new TextEncoder().encode('h'))).stream).toBe('HEARTBEATS');
    expect((await js.publish('cmdres.web-1', new TextEncoder().encode('r'))).stream).toBe('COMMAND_RESULTS');
    expect((await jsm.streams.getMessage('TELEMETRY', { last_by_subj: 'telemetry.web-1' }))!.string()).toBe('t');
    expect(errors).toEqual([]);
  });

  it('receives its commands and may answer them', async () => {
    const { creds } = await enrolled('web-2');
    const { nc } = await agentConnection('web-2', creds);
    nc.subscribe('cmd.web-2', { callback: (_err, msg) => { msg.respond(new TextEncoder().encode('ack')); } });
    await nc.flush();
    const reply = await backend.request('cmd.web-2', new TextEncoder().encode('ping'), { timeout: 10_000 });
    expect(reply.string()).toBe('ack');
  });

  it("is refused publishing as another agent, reading all telemetry, another agent's commands or another inbox", async () => {
    const { creds } = await enrolled('web-3');
    const { nc, errors } = await agentConnection('web-3', creds);
    await expect(jetstream(nc).publish('telemetry.other', new Uint8Array([1]), { timeout: 5000 })).rejects.toThrow(/Permissions Violation for Publish/);
    nc.publish('hb.other', new Uint8Array([1]));
    nc.publish('ingest.web', new Uint8Array([1]));
    for (const subject of ['telemetry.>', 'cmd.other', '_INBOX_other.>', '_INBOX.>', '$JS.API.>']) nc.subscribe(subject);
    await waitFor('every refusal', () => [
      'Publish to "hb.other"', 'Publish to "ingest.web"', 'Subscription to "telemetry.>"', 'Subscription to "cmd.other"',
      'Subscription to "_INBOX_other.>"', 'Subscription to "_INBOX.>"', 'Subscription to "$JS.API.>"',
    ].every((m) => errors.some((e) => e.includes(m))), 15_000);
    const stored = await jsm.streams.getMessage('HEARTBEATS', { last_by_subj: 'hb.other' }).catch(() => null);
    expect(stored).toBeNull();
  });

  it('does not get commands sent to another agent', async () => {
    const { creds } = await enrolled('web-4');
    const { nc } = await agentConnection('web-4', creds);
    const got: string[] = [];
    nc.subscribe('cmd.web-4', { callback: (_e, m) => { got.push(m.subject); } });
    await nc.flush();
    backend.publish('cmd.web-5', new Uint8Array([1]));
    backend.publish('cmd.web-4', new Uint8Array([1]));
    await waitFor('its own command', () => got.length > 0, 10_000);
    expect(got).toEqual(['cmd.web-4']);
  });
});

describe('enrollment tokens', () => {
  it('enroll once: the same token again is refused', async () => {
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    await enroll(db, auth, { token, agentId: 'once-1', publicKey: createUser().getPublicKey() });
    const again = enroll(db, auth, { token, agentId: 'once-2', publicKey: createUser().getPublicKey() });
    await expect(again).rejects.toBeInstanceOf(EnrollError);
    await expect(again).rejects.toMatchObject({ statusCode: 401 });
    expect((await db.selectFrom('agent_credentials').select('agent_id').where('agent_id', '=', 'once-2').execute())).toEqual([]);
  });

  it('is refused once expired', async () => {
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    await db.updateTable('enrollment_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('used_at', 'is', null).execute();
    await expect(enroll(db, auth, { token, agentId: 'late-1', publicKey: createUser().getPublicKey() })).rejects.toMatchObject({ statusCode: 401 });
  });

  it('does not enroll a second credential for an enrolled agent, and keeps the token for a retry', async () => {
    await enrolled('dup-1');
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    await expect(enroll(db, auth, { token, agentId: 'dup-1', publicKey: createUser().getPublicKey() })).rejects.toMatchObject({ statusCode: 409 });
    await expect(enroll(db, auth, { token, agentId: 'dup-2', publicKey: createUser().getPublicKey() })).resolves.toHaveProperty('jwt');
  });

  it('refuses a key that is not a NATS user key', async () => {
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    await expect(enroll(db, auth, { token, agentId: 'bad-key', publicKey: 'A'.repeat(56) })).rejects.toMatchObject({ statusCode: 400 });
  });
});

describe('agent credentials: expiry, limits and names', () => {
  const limited = { ttlS: 3600, maxPayloadBytes: 4096, maxSubs: 16, maxDataBytes: -1 };
  async function enrolledWith(agentId: string, limits: typeof limited): Promise<{ jwt: string; creds: Uint8Array }> {
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    const kp = createUser();
    const { jwt } = await enroll(db, auth, { token, agentId, publicKey: kp.getPublicKey() }, limits);
    return { jwt, creds: fmtCreds(jwt, kp) };
  }

  it('expire after 30 days by default and carry payload and subscription limits', async () => {
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    const { jwt } = await enroll(db, auth, { token, agentId: 'lim-1', publicKey: createUser().getPublicKey() });
    const claims = decode<{ payload: number; subs: number }>(jwt);
    expect(claims.exp! - claims.iat).toBe(30 * 86400);
    expect(claims.nats).toMatchObject({ payload: 2 * 1024 * 1024, subs: 16 });
  });

  it('are refused by the server once expired', async () => {
    const { creds } = await enrolledWith('exp-1', { ...limited, ttlS: 1 });
    await waitFor('the expired credentials to be refused', async () => {
      try {
        const nc = await connect({ servers: server.url, authenticator: credsAuthenticator(creds), reconnect: false });
        await nc.close();
        return false;
      } catch (err) {
        return /authori[sz]ation|expired/i.test(String((err as Error).message));
      }
    }, 30_000, 250);
  });

  it('cannot publish more than its payload limit', async () => {
    const { creds } = await enrolledWith('pay-1', limited);
    const { nc } = await agentConnection('pay-1', creds);
    // The server tells this connection the user's limit instead of its own 8 MB, and enforces it.
    expect(nc.info?.max_payload).toBe(4096);
    expect(() => nc.publish('telemetry.pay-1', new Uint8Array(8192))).toThrow(/max_payload/);
    nc.publish('telemetry.pay-1', new Uint8Array(1000));
    await nc.flush();
  });

  it('keep agent ids and ingest source names apart', async () => {
    await addSource(db, { name: 'firewall', format: 'json', createdBy: 'test' });
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    await expect(enroll(db, auth, { token, agentId: 'firewall', publicKey: createUser().getPublicKey() })).rejects.toMatchObject({ statusCode: 409 });
    await enrolled('edge-1');
    await expect(addSource(db, { name: 'edge-1', format: 'json', createdBy: 'test' })).rejects.toThrow(/enrolled agent/);
  });
});

describe('renewal', () => {
  it('gives an agent fresh credentials for its own key, signed for with its seed, and refuses a revoked one', async () => {
    const config = loadConfig({}, { DATABASE_URL: database.url, NATS_URL: server.url, NATS_AUTH_DIR: join(dir, 'nats-auth'), AGENT_CREDS_TTL_S: '600' });
    const app = await buildApp({ nc: backend, config, log: createLogger('renew-test', 'silent'), db: () => db }, { plugins: ['enroll'] });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const credsFile = join(dir, 'renew-1.creds');
      const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
      const kp = createUser();
      const { jwt } = await enroll(db, auth, { token, agentId: 'renew-1', publicKey: kp.getPublicKey() }, { ttlS: 60, maxPayloadBytes: 4096, maxSubs: 16, maxDataBytes: -1 });
      writeFileSync(credsFile, fmtCreds(jwt, kp), { mode: 0o600 });
      const before = await credentialsTimes(credsFile);
      expect(before.expiresAtMs! - before.issuedAtMs).toBe(60_000);
      expect(renewalDue(before, before.issuedAtMs + 30_000)).toBe(false);
      expect(renewalDue(before, before.issuedAtMs + 45_000)).toBe(true);

      await renewCredentials({ server: url, credsFile, agentId: 'renew-1' });
      const after = await credentialsTimes(credsFile);
      expect(after.expiresAtMs! - after.issuedAtMs).toBe(600_000);
      const { nc } = await agentConnection('renew-1', readFileSync(credsFile));
      expect((await jetstream(nc).publish('telemetry.renew-1', new TextEncoder().encode('r'))).stream).toBe('TELEMETRY');
      expect((await db.selectFrom('audit_log').select('action').where('target', '=', 'renew-1').execute()).map((r) => r.action)).toContain('agent.renew');

      // Someone else's key cannot renew it: the signature is checked against the public key sent.
      const other = createUser();
      const forged = await fetch(`${url}/api/enroll/renew`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agentId: 'renew-1', publicKey: kp.getPublicKey(), atMs: Date.now(), signature: Buffer.from(other.sign(new TextEncoder().encode(`minisoc-renew:renew-1:${Date.now()}`))).toString('base64url') }),
      });
      expect(forged.status).toBe(401);
      await revokeAgent(db, auth, 'renew-1');
      await expect(renewCredentials({ server: url, credsFile, agentId: 'renew-1' })).rejects.toThrow(/401.*no active credentials/);
    } finally {
      await app.close();
    }
  });
});

describe('revocation', () => {
  it('drops the agent\'s connection, keeps it out, and survives a re-enrollment of the same agent id', async () => {
    const { creds } = await enrolled('gone-1');
    const { nc, errors } = await agentConnection('gone-1', creds);
    await nc.flush();
    const { revoked, accountJwt } = await revokeAgent(db, auth, 'gone-1');
    expect(revoked).toHaveLength(1);
    const sys = await connect({ servers: server.url, authenticator: credsAuthenticator(readFileSync(auth.systemCreds)) });
    await pushAccountJwt(sys, accountJwt!);
    await waitFor('the server to revoke the connection', () => errors.some((e) => /revoked/i.test(e)), 15_000);
    await expect(connect({ servers: server.url, authenticator: credsAuthenticator(creds) })).rejects.toThrow(/Authorization Violation/);

    // A new key for the same agent id works; the old one stays refused (its revocation is kept in the account JWT).
    const fresh = await enrolled('gone-1');
    const { revoked: second, accountJwt: jwt2 } = await revokeAgent(db, auth, 'unknown-agent');
    expect(second).toEqual([]);
    expect(jwt2).toBeNull();
    const again = await agentConnection('gone-1', fresh.creds);
    await jetstream(again.nc).publish('hb.gone-1', new Uint8Array([1]));
    await expect(connect({ servers: server.url, authenticator: credsAuthenticator(creds) })).rejects.toThrow(/Authorization Violation/);
    await sys.close();
  });

  it('still holds after nats-server restarts from the generated configuration', async () => {
    const { creds } = await enrolled('gone-2');
    await revokeAgent(db, auth, 'gone-2');
    // Not pushed: the re-signed account JWT the next start preloads must carry it.
    await server.stop();
    ({ auth } = await ensureNatsAuth(auth.dir));
    server = await startNatsServer({ storeDir: join(dir, 'js'), configFile: auth.serverConfig, port: server.port });
    await expect(connect({ servers: server.url, authenticator: credsAuthenticator(creds) })).rejects.toThrow(/Authorization Violation/);
  });
});
