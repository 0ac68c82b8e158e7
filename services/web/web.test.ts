// The dashboard's static serving: SPA fallback, cache headers, and server paths left alone.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/harness.js';
import { createLogger } from '../core/log.js';
import { webPlugin } from './index.js';

let dir: string;
let app: FastifyInstance;
const log = createLogger('web-test', 'silent');

beforeAll(async () => {
  dir = tempDir('minisoc-web-');
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>MiniSOC</title>');
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), 'console.log(1)');
  writeFileSync(join(dir, 'assets', 'index-AbC123.js.gz'), gzipSync('console.log(1)'));
  app = Fastify();
  app.get('/api/me', async () => ({ user: null }));
  await app.register(webPlugin({ log, dir }));
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('webPlugin', () => {
  it('serves index.html at / and at every path of the app, never cached', async () => {
    for (const url of ['/', '/incidents', '/network?node=10.0.0.1', '/agents/a-1', '/timeline/ip/10.0.0.5', '/timeline/process/powershell.exe?since=7d']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body).toContain('<title>MiniSOC</title>');
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves hashed assets with a long, immutable cache lifetime', async () => {
    const res = await app.inject({ url: '/assets/index-AbC123.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log(1)');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('sends the compressed copy the build wrote to a browser that accepts it', async () => {
    const res = await app.inject({ url: '/assets/index-AbC123.js', headers: { 'accept-encoding': 'gzip, deflate' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(res.rawPayload).toString()).toBe('console.log(1)');
  });

  it('answers unknown API paths and missing files with a 404 in the error shape, not with the app', async () => {
    for (const url of ['/api/nope', '/ws/x', '/metrics/x', '/assets/gone-123.js', '/assets/gone', '/favicon.ico']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json()).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
    expect((await app.inject({ url: '/api/me' })).json()).toEqual({ user: null });
  });

  it('says how to build the dashboard when dist/web is missing', async () => {
    const bare = Fastify();
    await bare.register(webPlugin({ log, dir: join(dir, 'not-built') }));
    const res = await bare.inject({ url: '/' });
    expect(res.statusCode).toBe(503);
    expect(res.body).toMatch(/npm run build/);
    await bare.close();
  });
});
