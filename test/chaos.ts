// Shared by the chaos tests: the pipeline as separate processes (one per stage, so each can be killed),
// a client that posts numbered access-log lines and retries until each batch is accepted, and the exact
// check of what was stored.
import pg from 'pg';
import { expect } from 'vitest';
import { runNode, waitFor, type Proc } from './harness.js';

export const STAGES = ['normalize', 'enrich', 'detect', 'store'] as const;
export type StageName = (typeof STAGES)[number];
export const SQLI_RULE = '8c437b85-57cd-4a50-920a-fe6189848e48';

/** The HTTP front (ingest only) and one process per stage, all against the same NATS and database. */
export class Pipeline {
  front?: Proc;
  readonly stages = new Map<StageName, Proc>();
  constructor(readonly env: Record<string, string | undefined>) {}

  /** Starts everything and waits until one SQL injection line went through every stage. */
  async start(db: pg.Client): Promise<void> {
    this.front = runNode('tools/cli/soc.js', ['up'], { ...this.env, SOC_SERVICES: 'ingest', INGEST_ALLOW_ANONYMOUS: 'true' });
    await waitFor('the ingest API', async () => (await fetch(`http://127.0.0.1:${this.env.HTTP_PORT}/healthz`)).ok, 240_000);
    for (const s of STAGES) this.startStage(s);
    await post(this.env.HTTP_PORT!, 'probe', 0, 1);
    await waitFor('a probe event through every stage', async () => (await matchCount(db, 'probe')) === 1, 90_000, 200)
      .catch((err: Error) => { throw new Error(`${err.message}\n${this.output()}`); });
  }

  startStage(s: StageName): Proc {
    const p = runNode(`services/${s}/main.js`, [], this.env);
    this.stages.set(s, p);
    return p;
  }

  async kill(s: StageName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.stages.get(s)?.kill(signal);
  }

  async stop(): Promise<void> {
    for (const p of this.stages.values()) await p.kill('SIGTERM');
    await this.front?.kill('SIGTERM');
  }

  output(): string {
    return [...this.stages].map(([n, p]) => `--- ${n}\n${p.output().slice(-2000)}`).join('\n');
  }
}

/**
 * One access-log line per n; every tenth is a SQL injection the web rule matches. The client address
 * is unique per source and n, so no match folds into an alert of another source or another n.
 */
export function line(source: string, n: number): string {
  const net = ([...source].reduce((a, c) => a + c.charCodeAt(0), 0) % 250) + 1;
  const url = n % 10 === 0 ? `/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--&n=${n}` : `/item?n=${n}`;
  return `10.${net}.${(n >> 8) & 255}.${n & 255} - - [22/Nov/2026:10:00:00 +0000] "GET ${url} HTTP/1.1" 200 512 "-" "chaos"`;
}

/**
 * Posts lines [from, to) in batches, each with its own Idempotency-Key, retrying a batch (same key) on
 * 503 or a refused connection until it is accepted: what a well-behaved log shipper does.
 */
export async function post(httpPort: string, source: string, from: number, to: number, batch = 500, onBatch?: (i: number) => Promise<void>): Promise<{ retries: number }> {
  let retries = 0;
  for (let start = from, i = 0; start < to; start += batch, i++) {
    const body = Array.from({ length: Math.min(batch, to - start) }, (_, k) => line(source, start + k)).join('\n');
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/ingest?source=${source}&format=access`, {
        method: 'POST', headers: { 'content-type': 'text/plain', 'idempotency-key': `${source}-${start}` }, body,
      }).catch(() => undefined);
      if (res?.status === 202) break;
      if (res && res.status !== 503) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
      retries++;
      await new Promise((r) => setTimeout(r, 250));
    }
    await onBatch?.(i);
  }
  return { retries };
}

export async function storedCount(db: pg.Client, source: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM events WHERE source_id = $1`, [source]).catch(() => ({ rows: [{ n: 0 }] }));
  return rows[0].n as number;
}

export async function matchCount(db: pg.Client, source: string): Promise<number> {
  const { rows } = await db.query(`SELECT count(*)::int AS n FROM alert_matches m JOIN alerts a ON a.id = m.alert_id
    WHERE a.rule_id = $1 AND a.source_id = $2`, [SQLI_RULE, source]).catch(() => ({ rows: [{ n: 0 }] }));
  return rows[0].n as number;
}

/** Waits until `total` events and their alert matches are stored, lets redeliveries settle, then checks exactness. */
export async function expectExactly(db: pg.Client, source: string, total: number, what = () => ''): Promise<void> {
  await waitFor(`${total} events of ${source}`, async () => (await storedCount(db, source)) >= total, 240_000, 250)
    .catch((err: Error) => { throw new Error(`${err.message}\n${what()}`); });
  await waitFor(`${total / 10} SQL injection matches of ${source}`, async () => (await matchCount(db, source)) >= total / 10, 120_000, 250)
    .catch((err: Error) => { throw new Error(`${err.message}\n${what()}`); });
  // Anything redelivered after a crash would show up now as a duplicate.
  await new Promise((r) => setTimeout(r, 3000));
  const { rows } = await db.query(`SELECT count(*)::int AS n, count(DISTINCT doc->'url'->>'original')::int AS distinct_urls
    FROM events WHERE source_id = $1`, [source]);
  expect(rows[0]).toEqual({ n: total, distinct_urls: total });
  expect(await matchCount(db, source)).toBe(total / 10);
  const dlq = await db.query(`SELECT count(*)::int AS n FROM dead_letters WHERE source_id = $1`, [source]);
  expect(dlq.rows[0].n).toBe(0);
}
