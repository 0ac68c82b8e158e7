// The WebSocket gateway (/ws): live events, alerts, agent status and pipeline stats from NATS to the dashboard.
import websocket from '@fastify/websocket';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import fp from 'fastify-plugin';
import { configuredOrigins, originAllowed } from '../auth/plugin.js';
import { userFromToken, type AuthUser } from '../auth/users.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { AgentStatus, Alert, EventBatch } from '../core/proto.js';
import { lagOf, lastToken, pipelineLag, subjects } from '../core/topology.js';
import { gatewayMetrics } from './metrics.js';
import { DEFAULT_LIMITS, Hub, type GatewayLimits } from './hub.js';

export type { GatewayLimits } from './hub.js';

export interface GatewayDeps {
  nc: NatsConnection;
  config: Config;
  log: Logger;
  db: () => Db;
  /** Who a session or API token belongs to; the auth module's userFromToken unless a test says otherwise. */
  authenticate?: (token: string) => Promise<AuthUser | null>;
  limits?: Partial<GatewayLimits>;
  /** How often consumer lag is read from JetStream. */
  lagIntervalMs?: number;
  /** How often every open socket's session is checked again (logout, disable and expiry close it within this time). */
  sessionCheckMs?: number;
}

const SESSION_COOKIE = 'soc_session';

/** The token of an upgrade request: the session cookie or a Bearer header (never the URL, where logs and history keep it). */
function requestToken(req: FastifyRequest): string | undefined {
  for (const part of String(req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  const auth = String(req.headers.authorization ?? '');
  return auth.startsWith('Bearer ') ? auth.slice(7).trim() || undefined : undefined;
}

/** Pending + ack-pending of every durable consumer of the pipeline, by "STREAM/consumer". */
async function readLag(nc: NatsConnection, detectShards: number): Promise<Record<string, number>> {
  const lag: Record<string, number> = {};
  for (const c of await pipelineLag(await jetstreamManager(nc), detectShards)) lag[`${c.stream}/${c.durable}`] = lagOf({ num_pending: c.pending, num_ack_pending: c.ackPending });
  return lag;
}

export function gatewayPlugin(deps: GatewayDeps) {
  return fp(async (app) => {
    const log = deps.log.child({ component: 'gateway' });
    const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...deps.limits };
    const authenticate = deps.authenticate ?? ((token: string) => userFromToken(deps.db(), token));
    const hub = new Hub(limits);
    const origins = configuredOrigins(deps.config.CORS_ORIGINS);
    const users = new WeakMap<FastifyRequest, { user: AuthUser; token: string }>();
    // Every open socket with the token it was opened with, checked again on a timer and whenever sessions change.
    const sessions = new Map<WebSocket, { user: AuthUser; token: string }>();
    let checking = false;
    const checkSessions = async () => {
      if (checking || sessions.size === 0) return;
      checking = true;
      try {
        for (const [socket, s] of [...sessions]) {
          const now = await authenticate(s.token).catch((err: unknown) => {
            log.warn({ err: errorMessage(err) }, 'cannot check a live-view session');
            return s.user;
          });
          if (now && now.role === s.user.role) continue;
          sessions.delete(socket);
          hub.remove(socket);
          gatewayMetrics.sessionsEnded.inc();
          socket.close(4001, 'session ended');
        }
      } finally { checking = false; }
    };
    const onSessionsChanged = () => void checkSessions();
    if (app.hasDecorator('sessionEvents')) app.sessionEvents.on('changed', onSessionsChanged);

    // Core subscriptions, not durable consumers: the display is best-effort and must never hold back the pipeline.
    // The callbacks only decode and count; sending happens on the timers below.
    const decodeFailed = (subject: string, err: unknown) => log.warn({ subject, err: errorMessage(err) }, 'cannot decode a message for the live view');
    const subs: Subscription[] = [
      deps.nc.subscribe(subjects.all.enriched, {
        callback: (err, msg) => {
          // Decoding every batch costs the pipeline's process CPU: only while someone watches.
          if (err || hub.size === 0) return;
          try {
            const batch = EventBatch.decode(msg.data);
            hub.onEvents(batch.source_id || lastToken(msg.subject), batch.events);
          } catch (e) { decodeFailed(msg.subject, e); }
        },
      }),
      deps.nc.subscribe(subjects.all.alerts, {
        callback: (err, msg) => {
          if (err) return;
          try { hub.onAlert(Alert.decode(msg.data)); } catch (e) { decodeFailed(msg.subject, e); }
        },
      }),
      deps.nc.subscribe(subjects.all.agentStatus, {
        callback: (err, msg) => {
          if (err) return;
          try { hub.onAgentStatus(AgentStatus.decode(msg.data)); } catch (e) { decodeFailed(msg.subject, e); }
        },
      }),
    ];

    let readingLag = false;
    const refreshLag = () => {
      if (readingLag || deps.nc.isClosed() || hub.size === 0) return;
      readingLag = true;
      readLag(deps.nc, deps.config.DETECT_SHARDS).then((lag) => hub.setLag(lag), (err: unknown) => log.debug({ err: errorMessage(err) }, 'cannot read consumer lag'))
        .finally(() => { readingLag = false; });
    };
    const timers = [
      setInterval(() => hub.flush(), limits.flushIntervalMs),
      setInterval(() => hub.stats(), limits.statsIntervalMs),
      setInterval(refreshLag, deps.lagIntervalMs ?? 5000),
      setInterval(onSessionsChanged, deps.sessionCheckMs ?? 2000),
    ];
    for (const t of timers) t.unref();

    app.addHook('onClose', async () => {
      for (const t of timers) clearInterval(t);
      for (const s of subs) s.unsubscribe();
      if (app.hasDecorator('sessionEvents')) app.sessionEvents.off('changed', onSessionsChanged);
      sessions.clear();
      hub.closeAll();
    });

    await app.register(websocket, { options: { maxPayload: 16 * 1024 } });

    app.get('/ws', {
      websocket: true,
      preValidation: async (req, reply) => {
        // A page of another origin (another port of the same host included) must not read the live view with the
        // user's cookie: browsers always send Origin on a WebSocket upgrade.
        if (!originAllowed(req, origins)) {
          gatewayMetrics.authFailures.inc();
          return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `origin ${JSON.stringify(req.headers.origin)} is not allowed: the app's own origin or CORS_ORIGINS only` });
        }
        const token = requestToken(req);
        const user = token ? await authenticate(token) : null;
        if (!user) {
          gatewayMetrics.authFailures.inc();
          return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: token ? 'the session or token is not valid' : 'log in first: no session cookie or Bearer token' });
        }
        users.set(req, { user, token: token! });
      },
    }, (socket, req) => {
      const s = users.get(req)!;
      sessions.set(socket, s);
      hub.add(socket, s.user);
      refreshLag();
      const gone = () => { sessions.delete(socket); hub.remove(socket); };
      socket.on('message', (data, isBinary) => hub.receive(socket, isBinary ? '' : data.toString()));
      socket.on('close', gone);
      socket.on('error', gone);
    });
  }, { name: 'minisoc-gateway', dependencies: ['minisoc-auth'], encapsulate: true });
}
