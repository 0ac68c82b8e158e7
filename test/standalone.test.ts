// A service run alone (as in Kubernetes): liveness and readiness on its METRICS_PORT, readiness following NATS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/local/postgres.js';
import { runNode, startTestNats, waitFor, type Proc, type TestNats } from './harness.js';

let nats: TestNats;
let svc: Proc;
let base: string;

beforeAll(async () => {
  nats = await startTestNats();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  svc = runNode('services/normalize/main.js', [], { NATS_URL: nats.url, METRICS_PORT: String(port), DATABASE_URL: undefined });
  await waitFor('the service to answer /readyz', async () => {
    if (svc.child.exitCode !== null) throw new Error(`normalize exited: ${svc.output()}`);
    return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
  }, 120_000);
}, 150_000);

afterAll(async () => {
  await svc?.kill();
  await nats?.close();
});

async function get(path: string): Promise<{ status: number; body: { ok: boolean; failing?: string[] } }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.json() as { ok: boolean; failing?: string[] } };
}

describe('a stage running alone', () => {
  it('is live while NATS is away but not ready, naming NATS, and ready again when NATS is back', async () => {
    expect(await get('/livez')).toEqual({ status: 200, body: { ok: true } });
    await nats.stop();
    const down = await waitFor('/readyz to answer 503', async () => { const r = await get('/readyz'); return r.status === 503 && r; });
    expect(down.body.failing).toContain('nats: disconnected');
    expect((await get('/livez')).status).toBe(200);
    await nats.restart();
    await waitFor('/readyz to answer 200 again', async () => (await get('/readyz')).status === 200, 120_000);
    expect(svc.child.exitCode).toBeNull();
  }, 240_000);
});
