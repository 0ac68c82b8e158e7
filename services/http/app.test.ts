import { createConnection, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { FastifyInstance } from 'fastify';
import { startTestNats, type TestNats } from '../../test/harness.js';
import { loadConfig } from '../core/config.js';
import { createLogger } from '../core/log.js';
import { RawBatch } from '../core/proto.js';
import { ensureTopology } from '../core/topology.js';
import { buildApp } from './app.js';

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let app: FastifyInstance;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  jsm = await jetstreamManager(nc, { timeout: 2000 });
  await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  const config = loadConfig({}, { INGEST_MAX_BODY_BYTES: '4096', INGEST_BATCH_RECORDS: '10', INGEST_ALLOW_ANONYMOUS: 'true' });
  app = await buildApp({ nc, config, log: createLogger('test', 'silent'), db: () => { throw new Error('this test runs without a database'); } }, { plugins: ['ingest'] });
});

afterAll(async () => {
  await app?.close();
  await nc?.close();
  await nats?.close();
});

async function ingestMessages(): Promise<number> {
  return (await jsm.streams.info('INGEST')).state.messages;
}

describe('POST /api/ingest', () => {
  it('accepts a JSON array, answers 202 with the count and publishes batches of the configured size', async () => {
    const before = await ingestMessages();
    const body = JSON.stringify(Array.from({ length: 25 }, (_, i) => ({ n: i })));
    const res = await app.inject({ method: 'POST', url: '/api/ingest?source=web-1', headers: { 'content-type': 'application/json' }, payload: body });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 25, batches: 3 });
    expect(await ingestMessages()).toBe(before + 3);
    const last = await jsm.streams.getMessage('INGEST', { last_by_subj: 'ingest.web-1' });
    const batch = RawBatch.decode(last!.data);
    expect(batch.source_id).toBe('web-1');
    expect(batch.records).toEqual(['{"n":20}', '{"n":21}', '{"n":22}', '{"n":23}', '{"n":24}']);
  });

  it('accepts NDJSON by content type', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/ingest?source=nd', headers: { 'content-type': 'application/x-ndjson' }, payload: '{"a":1}\n{"a":2}\n' });
    expect(res.statusCode).toBe(202);
    expect(res.json().accepted).toBe(2);
  });

  it('takes plain-text log lines and Windows XML, declaring the format in the batch', async () => {
    const lines = await app.inject({ method: 'POST', url: '/api/ingest?source=lines', headers: { 'content-type': 'text/plain' }, payload: '<13>Nov 22 10:00:00 h app: one\n<13>Nov 22 10:00:01 h app: two\n' });
    expect(lines.statusCode).toBe(202);
    expect(lines.json().accepted).toBe(2);
    const auto = RawBatch.decode((await jsm.streams.getMessage('INGEST', { last_by_subj: 'ingest.lines' }))!.data);
    expect(auto.format).toBe('');
    const xml = await app.inject({ method: 'POST', url: '/api/ingest?source=win', headers: { 'content-type': 'application/xml' }, payload: '<Events><Event><System><EventID>4625</EventID></System></Event></Events>' });
    expect(xml.statusCode).toBe(202);
    const win = RawBatch.decode((await jsm.streams.getMessage('INGEST', { last_by_subj: 'ingest.win' }))!.data);
    expect(win.format).toBe('winxml');
    expect(win.records).toEqual(['<Event><System><EventID>4625</EventID></System></Event>']);
  });

  it('refuses a malformed body with 400 and a reason, and publishes nothing', async () => {
    const before = await ingestMessages();
    const res = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'application/x-ndjson' }, payload: '{"a":1}\n{"a":\n' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/^line 2: invalid JSON/) });
    expect(await ingestMessages()).toBe(before);
  });

  it('refuses a body over the limit with 413', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ big: 'x'.repeat(5000) }) });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('Payload Too Large');
  });

  it('refuses a content type it does not take with 415, and a bad source id with 400', async () => {
    const xml = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'application/pdf' }, payload: '%PDF' });
    expect(xml.statusCode).toBe(415);
    const bad = await app.inject({ method: 'POST', url: '/api/ingest?source=a.b', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/source/);
  });

  it('publishes a retried request once when the client repeats its Idempotency-Key', async () => {
    const before = await ingestMessages();
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/ingest?source=idem', headers: { 'content-type': 'application/json', 'idempotency-key': 'req-42' }, payload: '[{"a":1},{"a":2}]' });
      expect(res.statusCode).toBe(202);
    }
    expect(await ingestMessages()).toBe(before + 1);
  });

  it('answers 503 with Retry-After when JetStream cannot take the batch', async () => {
    await nats.stop();
    try {
      const res = await app.inject({ method: 'POST', url: '/api/ingest?source=down', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json().message).toMatch(/retry with Idempotency-Key: /);
    } finally {
      await nats.restart();
    }
  });
});

describe('a client that sends its request too slowly', () => {
  it('is answered 408 and cut off, while other clients are served', async () => {
    const config = loadConfig({}, { HTTP_REQUEST_TIMEOUT_MS: '1000', INGEST_ALLOW_ANONYMOUS: 'true' });
    const slowApp = await buildApp({ nc, config, log: createLogger('test', 'silent'), db: () => { throw new Error('no database here'); } }, { plugins: ['ingest'] });
    await slowApp.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = slowApp.server.address() as AddressInfo;
      const sock = createConnection({ host: '127.0.0.1', port });
      let answer = '';
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => { answer += d; });
      const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
      sock.write('POST /api/ingest?source=slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n[');
      await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
      const res = await fetch(`http://127.0.0.1:${port}/api/ingest?source=quick`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
      expect(res.status).toBe(202);
    } finally {
      await slowApp.close();
    }
  }, 90_000);
});
