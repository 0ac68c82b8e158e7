// The ingest plugin: POST /api/ingest, where log sources post their records with their token.
import { createHash, randomUUID } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import { errorMessage } from '../core/errors.js';
import { ingestMetrics } from '../core/metrics.js';
import { RawBatch } from '../core/proto.js';
import { subjects } from '../core/topology.js';
import { BODY_FORMATS, bodyKind, chunk, declaredFormat, splitRecords, type BodyFormat } from './core.js';
import { sourceForToken, type IngestSource } from './sources.js';

export interface IngestDeps {
  nc: NatsConnection;
  config: Config;
  db: () => Db;
  /** The ingest source a token belongs to; by default looked up in the database (services/ingest/sources.ts). */
  sourceForToken?: (token: string) => Promise<IngestSource | null>;
}

const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
  required: ['statusCode', 'error', 'message'],
} as const;

const ingestSchema = {
  querystring: {
    type: 'object',
    properties: {
      source: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
      format: { type: 'string', enum: [...BODY_FORMATS] },
    },
    additionalProperties: false,
  },
  headers: {
    type: 'object',
    properties: { 'idempotency-key': { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } },
  },
  response: {
    202: {
      type: 'object',
      properties: { accepted: { type: 'integer' }, batches: { type: 'integer' }, requestId: { type: 'string' } },
      required: ['accepted', 'batches', 'requestId'],
    },
    400: errorSchema, 401: errorSchema, 403: errorSchema, 413: errorSchema, 415: errorSchema, 429: errorSchema, 503: errorSchema,
  },
} as const;

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);
const XML_TYPES = new Set(['application/xml', 'text/xml']);

/** The format of a body: the ?format= parameter, else what its Content-Type says. */
function formatOf(query: BodyFormat | undefined, contentType: string): BodyFormat {
  if (query) return query;
  if (NDJSON_TYPES.has(contentType)) return 'ndjson';
  if (XML_TYPES.has(contentType)) return 'winxml';
  if (contentType === 'application/json') return 'json';
  return 'auto';
}

function bearerToken(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The ingest source whose token the request carries (null: anonymous, when allowed). */
    ingestSource: IngestSource | null;
  }
}

/**
 * POST /api/ingest: authenticates the source by its token, cuts the body into records and publishes them
 * as RawBatch messages on ingest.<source>.
 */
export function ingestPlugin(deps: IngestDeps) {
  const anonymous = deps.config.INGEST_ALLOW_ANONYMOUS;
  const js = jetstream(deps.nc);
  const sourceOf = deps.sourceForToken ?? ((token: string) => sourceForToken(deps.db(), token));
  return fp(async (app) => {
    // Per token (by its hash), checked before the body is read; anonymous requests are only possible in development.
    await app.register(rateLimit, {
      global: false, max: deps.config.INGEST_RATE_LIMIT_PER_MIN, timeWindow: 60_000,
      keyGenerator: (req) => createHash('sha256').update(bearerToken(req) ?? `ip:${req.ip}`).digest('hex'),
      allowList: (req) => anonymous && !bearerToken(req),
    });
    app.decorateRequest('ingestSource', null);
    const authenticate = async (req: FastifyRequest, reply: FastifyReply) => {
      const token = bearerToken(req);
      if (!token) {
        if (anonymous) return;
        ingestMetrics.rejected.inc({ reason: 'unauthorized' });
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'send the source\'s token as "Authorization: Bearer <token>" (create one with soc sources add NAME --format F)' });
      }
      const source = await sourceOf(token);
      if (!source) {
        ingestMetrics.rejected.inc({ reason: 'unauthorized' });
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'unknown or revoked ingest token' });
      }
      req.ingestSource = source;
    };

    // The body is split and checked by splitRecords, so it arrives as the string that was sent.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(['application/json', ...NDJSON_TYPES, ...XML_TYPES, 'text/plain'], { parseAs: 'string', bodyLimit: deps.config.INGEST_MAX_BODY_BYTES },
      (_req, body, done) => done(null, body));

    app.post<{ Querystring: { source: string; format?: BodyFormat }; Headers: { 'idempotency-key'?: string }; Body: string }>(
      '/api/ingest', { schema: ingestSchema, bodyLimit: deps.config.INGEST_MAX_BODY_BYTES, onRequest: authenticate, config: { rateLimit: {} } }, async (req, reply) => {
        const bound = req.ingestSource;
        // A token posts only as its own source, in its declared format.
        if (bound && ((req.query.source && req.query.source !== bound.name) || (req.query.format && req.query.format !== bound.format))) {
          ingestMetrics.rejected.inc({ reason: 'forbidden' });
          return reply.code(403).send({
            statusCode: 403, error: 'Forbidden',
            message: `this token is for source ${bound.name} with format ${bound.format} (asked: source ${req.query.source ?? bound.name}, format ${req.query.format ?? bound.format})`,
          });
        }
        const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        const format = bound ? bound.format : formatOf(req.query.format, contentType);
        const body = typeof req.body === 'string' ? req.body : '';
        const kind = bodyKind(format, body);
        let records: string[];
        try {
          records = splitRecords(body, format, kind);
        } catch (err) {
          ingestMetrics.rejected.inc({ reason: 'malformed' });
          return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: errorMessage(err) });
        }
        const source = bound?.name ?? req.query.source ?? 'http';
        const requestId = req.headers['idempotency-key'] ?? randomUUID();
        const maxBytes = Math.min(deps.nc.info?.max_payload ?? 1024 * 1024, 8 * 1024 * 1024) * 0.9;
        const batches = chunk(records, deps.config.INGEST_BATCH_RECORDS, maxBytes);
        const receivedMs = Date.now();
        const subject = subjects.ingest(source);
        try {
          // Same request id, same message ids: a client retrying after a 503 is deduplicated by JetStream.
          await Promise.all(batches.map((b, i) => js.publish(subject,
            RawBatch.encode({ source_id: source, format: declaredFormat(format, kind), received_ms: receivedMs, records: b, remote_addr: req.ip, source_kind: bound?.kind ?? '', source_host: bound?.host ?? '' }).finish(),
            { msgID: `ingest:${source}:${requestId}:${i}` })));
        } catch (err) {
          ingestMetrics.rejected.inc({ reason: 'unavailable' });
          req.log.warn({ err: errorMessage(err), requestId }, 'JetStream refused an ingest batch');
          return reply.code(503).header('retry-after', '1').send({
            statusCode: 503, error: 'Service Unavailable',
            message: `the event stream did not accept the batch (${errorMessage(err)}); retry with Idempotency-Key: ${requestId}`,
          });
        }
        ingestMetrics.records.inc({ source }, records.length);
        return reply.code(202).send({ accepted: records.length, batches: batches.length, requestId });
      });
  }, { name: 'minisoc-ingest', encapsulate: true });
}
