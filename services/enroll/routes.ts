// POST /api/enroll (an agent trades a one-time token and its public key for a user JWT) and the admins' enrollment routes.
import { connect, credsAuthenticator, type NatsConnection, type TlsOptions } from '@nats-io/transport-node';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { readFileSync } from 'node:fs';
import { Type } from 'typebox';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import { ConfigError } from '../core/errors.js';
import { agentInboxPrefix } from '../core/topology.js';
import type { Logger } from '../core/log.js';
import { authErrors, errorSchema, sendError } from '../core/http.js';
import { authDir, loadNatsAuth, pushAccountJwt, type NatsAuth } from '../core/nats-accounts.js';
import { natsTlsOptions } from '../core/tls.js';
import { EnrollError, createEnrollmentToken, enroll, renew, revokeAgent } from './enroll.js';
import { audit } from '../core/audit.js';
import { requireRole } from '../auth/plugin.js';

export interface EnrollDeps { db: () => Db; config: Config; log: Logger }

const EnrollBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 200 }),
  agentId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
  publicKey: Type.String({ minLength: 56, maxLength: 56 }),
}, { additionalProperties: false });

const TokenBody = Type.Object({
  expiresInS: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86_400 })),
  tags: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }), { maxItems: 32 })),
}, { additionalProperties: false });

/** The NATS URLs an enrolled agent is told to use. */
export function agentNatsUrls(config: Config): string[] {
  return (config.AGENT_NATS_URLS ?? config.NATS_URL ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

export function enrollPlugin(deps: EnrollDeps) {
  let auth: NatsAuth | undefined;
  // Read on first use: an installation without `soc init` keys answers 503 here and runs everything else.
  const keys = (): NatsAuth => (auth ??= loadNatsAuth(authDir(deps.config)));
  /** The keys, or undefined after answering 503 when this installation has none. */
  const keysOr503 = (reply: FastifyReply): NatsAuth | undefined => {
    try {
      return keys();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      sendError(reply, 503, `enrollment is not set up on this server: ${err.message}`);
      return undefined;
    }
  };
  return fp(async (app) => {
    await app.register(rateLimit, { global: false });

    app.post<{ Body: { token: string; agentId: string; publicKey: string } }>('/api/enroll', {
      // Agents call it with the one-time token in the body and no session: nothing ambient for a forged request to ride on.
      config: { csrf: false, rateLimit: { max: deps.config.ENROLL_RATE_LIMIT_PER_MIN, timeWindow: 60_000 } },
      bodyLimit: 4096,
      schema: {
        tags: ['agents'], summary: 'Enroll an agent: a one-time token and the agent\'s public nkey for a NATS user JWT (no sign-in; the token is the secret)',
        body: EnrollBody,
        response: {
          200: Type.Object({ jwt: Type.String(), natsUrls: Type.Array(Type.String()), inboxPrefix: Type.String(), tags: Type.Array(Type.String()) }),
          400: errorSchema, 401: errorSchema, 409: errorSchema, 413: errorSchema, 429: errorSchema, 503: errorSchema,
        },
      },
    }, async (req, reply) => {
      const k = keysOr503(reply);
      if (!k) return reply;
      const db = deps.db();
      try {
        const { jwt, tags } = await enroll(db, k, req.body, {
          ttlS: deps.config.AGENT_CREDS_TTL_S, maxPayloadBytes: deps.config.AGENT_MAX_PAYLOAD_BYTES, maxSubs: deps.config.AGENT_MAX_SUBS, maxDataBytes: -1,
        });
        await audit(db, `agent:${req.body.agentId}`, 'agent.enroll', req.body.agentId, { publicKey: req.body.publicKey, tags, ip: req.ip });
        return { jwt, natsUrls: agentNatsUrls(deps.config), inboxPrefix: agentInboxPrefix(req.body.agentId), tags };
      } catch (err) {
        if (!(err instanceof EnrollError)) throw err;
        await audit(db, `agent:${req.body.agentId}`, 'agent.enroll.refused', req.body.agentId, { reason: err.message, ip: req.ip });
        return sendError(reply, err.statusCode, err.message);
      }
    });

    app.post<{ Body: { agentId: string; publicKey: string; atMs: number; signature: string } }>('/api/enroll/renew', {
      // The agent proves it holds its key by a signature; no session, so nothing for a forged request to ride on.
      config: { csrf: false, rateLimit: { max: deps.config.ENROLL_RATE_LIMIT_PER_MIN, timeWindow: 60_000 } },
      bodyLimit: 4096,
      schema: {
        tags: ['agents'], summary: 'Renew an enrolled agent\'s credentials before they expire: a fresh user JWT for the same key, signed for by the agent',
        body: Type.Object({
          agentId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), publicKey: Type.String({ minLength: 56, maxLength: 56 }),
          atMs: Type.Integer({ minimum: 0 }), signature: Type.String({ minLength: 1, maxLength: 200 }),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ jwt: Type.String(), expiresAt: Type.Integer() }), 400: errorSchema, 401: errorSchema, 429: errorSchema, 503: errorSchema },
      },
    }, async (req, reply) => {
      const k = keysOr503(reply);
      if (!k) return reply;
      const db = deps.db();
      try {
        const renewed = await renew(db, k, req.body, {
          ttlS: deps.config.AGENT_CREDS_TTL_S, maxPayloadBytes: deps.config.AGENT_MAX_PAYLOAD_BYTES, maxSubs: deps.config.AGENT_MAX_SUBS, maxDataBytes: -1,
        });
        await audit(db, `agent:${req.body.agentId}`, 'agent.renew', req.body.agentId, { publicKey: req.body.publicKey, expiresAt: new Date(renewed.expiresAt * 1000).toISOString(), ip: req.ip });
        return renewed;
      } catch (err) {
        if (!(err instanceof EnrollError)) throw err;
        await audit(db, `agent:${req.body.agentId}`, 'agent.renew.refused', req.body.agentId, { reason: err.message, ip: req.ip });
        return sendError(reply, err.statusCode, err.message);
      }
    });

    app.post<{ Body: { expiresInS?: number; tags?: string[] } }>('/api/enrollment-tokens', {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['agents'], summary: 'A one-time enrollment token for one agent (shown once)', body: TokenBody,
        response: { 200: Type.Object({ token: Type.String(), expiresAt: Type.String() }), ...authErrors },
      },
    }, async (req) => {
      const db = deps.db();
      const { token, expiresAt } = await createEnrollmentToken(db, { ttlS: req.body.expiresInS ?? 3600, tags: req.body.tags, createdBy: req.user!.name });
      await audit(db, req.user!.name, 'agent.enroll-token', null, { expiresAt, tags: req.body.tags ?? [] });
      return { token, expiresAt: expiresAt.toISOString() };
    });

    app.post<{ Params: { id: string } }>('/api/agents/:id/revoke', {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['agents'], summary: 'Revoke the agent\'s NATS credential: its connections are dropped and it cannot reconnect',
        params: Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) }),
        response: { 200: Type.Object({ revoked: Type.Array(Type.String()) }), 404: errorSchema, 503: errorSchema, ...authErrors },
      },
    }, async (req, reply) => {
      const k = keysOr503(reply);
      if (!k) return reply;
      const db = deps.db();
      const c = deps.config;
      const target = { url: c.NATS_URL, tls: natsTlsOptions({ caFile: c.NATS_TLS_CA, certFile: c.NATS_TLS_CERT, keyFile: c.NATS_TLS_KEY }) };
      const { revoked, accountJwt } = await revokeAgent(db, k, req.params.id);
      if (!accountJwt) return sendError(reply, 404, `agent ${req.params.id} has no active credential`);
      await audit(db, req.user!.name, 'agent.revoke', req.params.id, { publicKeys: revoked });
      await withSystemNats(k, target, (sys) => pushAccountJwt(sys, accountJwt));
      return { revoked };
    });
  }, { name: 'minisoc-enroll', dependencies: ['minisoc-auth'], encapsulate: true });
}

/** Runs `work` with a system-account connection to the server (pushes account JWT updates). */
export async function withSystemNats<T>(auth: NatsAuth, target: { url?: string; tls?: TlsOptions }, work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  if (!target.url) throw new ConfigError('no NATS URL to push the account update to');
  const nc = await connect({
    servers: target.url.split(',').map((s) => s.trim()), name: 'soc-system', authenticator: credsAuthenticator(readFileSync(auth.systemCreds)), tls: target.tls,
  });
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}
