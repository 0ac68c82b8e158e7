// Detection in the running pipeline: a correlated alert from syslog, repeats folded, rules reloaded live.
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../tools/local/postgres.js';
import { ROOT, createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from './harness.js';

const METRICS = 'metrics-token-for-the-detect-test';
let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let rulesDir: string;
let soc: Proc;
let db: pg.Client;
let ingest: string;
let base: string;

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-detect-');
  rulesDir = join(dataDir, 'rules');
  mkdirSync(rulesDir);
  copyFileSync(join(ROOT, 'services/detect/testdata/rules/ssh_bruteforce.yml'), join(rulesDir, 'ssh_bruteforce.yml'));
  const port = await freePort();
  soc = runNode('tools/cli/soc.js', ['up'], {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), RULES_DIR: rulesDir, INGEST_ALLOW_ANONYMOUS: 'true',
    METRICS_TOKEN: METRICS,
  });
  base = `http://127.0.0.1:${port}`;
  ingest = `${base}/api/ingest`;
  await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 240_000);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

function sshd(minute: number, second: number, text: string): string {
  const t = `2026-11-22T10:${String(minute).padStart(2, '0')}:${String(second).padStart(2, '0')}Z`;
  return `<38>1 ${t} gw sshd 4242 - - ${text}`;
}

async function post(source: string, lines: string[]): Promise<void> {
  const res = await fetch(`${ingest}?source=${source}&format=syslog`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: lines.join('\n') });
  expect(res.status, await res.text()).toBe(202);
}

interface AlertRow { id: string; rule_title: string; count: number; event_ids: string[]; source_ip: string; status: string; techniques: string[] }

async function alerts(title: string): Promise<AlertRow[]> {
  const { rows } = await db.query<AlertRow>(`SELECT id, rule_title, count, event_ids, host(source_ip) AS source_ip, status, techniques FROM alerts WHERE rule_title = $1`, [title]);
  return rows;
}

/** A gauge of the detect service from /metrics (soc up gathers every service's). */
async function detectGauge(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

const CORRELATED = 'SSH brute force followed by a successful login';

describe('detect in the pipeline', () => {
  it('raises one correlated alert linking the failed logins and the success', async () => {
    const lines = [0, 5, 10, 15, 20].map((s) => sshd(0, s, 'Failed password for root from 198.51.100.9 port 50000 ssh2'));
    lines.push(sshd(1, 0, 'Accepted password for root from 198.51.100.9 port 50001 ssh2'));
    await post('bastion', lines);
    const [alert] = await waitFor('the correlated alert', async () => { const a = await alerts(CORRELATED); return a.length > 0 && a; });
    expect(alert).toMatchObject({ source_ip: '198.51.100.9', status: 'open', count: 1 });
    expect(alert!.techniques).toContain('T1110.001');
    // The store writes events and alerts from different consumers: the alert may be stored first.
    const rows = await waitFor('the alert\'s events stored', async () => {
      const { rows } = await db.query(`SELECT id, action, outcome FROM events WHERE id = ANY($1) ORDER BY ts`, [alert!.event_ids]);
      return rows.length === alert!.event_ids.length && rows;
    });
    expect(rows.map((r) => r.outcome)).toEqual(['failure', 'failure', 'failure', 'failure', 'failure', 'success']);
  });

  it('folds a repeat of the same attack into the open alert instead of opening another', async () => {
    const lines = [0, 5, 10, 15, 20].map((s) => sshd(20, s, 'Failed password for admin from 198.51.100.9 port 50002 ssh2'));
    lines.push(sshd(21, 0, 'Accepted password for admin from 198.51.100.9 port 50003 ssh2'));
    await post('bastion', lines);
    const [alert] = await waitFor('the count to go up', async () => { const a = await alerts(CORRELATED); return a.length === 1 && a[0]!.count === 2 && a; });
    expect(alert!.event_ids.length).toBe(12);
  });

  it('picks up a new rule file without a restart, and keeps the last good version of a broken one', async () => {
    const before = await detectGauge('minisoc_detect_rules_loaded');
    expect(await detectGauge('minisoc_detect_rule_problems')).toBe(0);
    writeFileSync(join(rulesDir, 'canary.yml'), [
      'title: Canary user seen', 'id: 0f7e1b2a-9c3d-4e5f-8a6b-7c8d9e0f1a2b', 'level: high', 'tags: [attack.t1078]',
      'logsource: {product: linux, service: sshd}', 'detection:', '  selection: {user.name: canary}', '  condition: selection', '',
    ].join('\n'));
    await waitFor('the new rule loaded', async () => (await detectGauge('minisoc_detect_rules_loaded')) === before + 1);
    await post('bastion', [sshd(30, 0, 'Failed password for canary from 192.0.2.1 port 1 ssh2')]);
    await waitFor('the canary alert', async () => (await alerts('Canary user seen')).length === 1);
    writeFileSync(join(rulesDir, 'canary.yml'), 'title: Canary user seen\nid: [not, valid\n');
    // The broken file was read (a problem reported) and the last good version kept.
    await waitFor('the broken file reported', async () => (await detectGauge('minisoc_detect_rule_problems')) > 0);
    expect(await detectGauge('minisoc_detect_rules_loaded')).toBe(before + 1);
    await post('bastion', [sshd(40, 0, 'Failed password for canary from 192.0.2.2 port 1 ssh2')]);
    await waitFor('a second canary alert from the kept rule', async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM alerts WHERE rule_title = 'Canary user seen'`);
      const folded = await alerts('Canary user seen');
      return (rows[0].n >= 2 || folded.some((a) => a.count >= 2)) && true;
    });
  });
});
