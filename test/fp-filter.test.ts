// Noise control end to end: an alert closed as a false positive, its proposed Sigma filter saved (API and CLI), detect
// reloading it so the same event no longer alerts while other events of the rule still do, and the rule counts (API and soc rules list).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../services/auth/users.js';
import { createDb } from '../services/core/db/index.js';
import { freePort } from '../tools/local/postgres.js';
import { createTestDatabase, runCli, runNode, sessionFrom, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from './harness.js';

const METRICS = 'metrics-token-for-the-fp-filter-test';
const RULE_ID = '6b1f0c2a-7d3e-4f50-9a61-0b2c3d4e5f60';
const RULE = [
  'title: Root signed in over SSH', `id: ${RULE_ID}`, 'level: medium', 'tags: [attack.t1078]',
  'logsource: {product: linux, service: sshd}', 'detection:', '  selection: {event.outcome: success, user.name: root}', '  condition: selection', '',
].join('\n');

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let filters: string;
let soc: Proc;
let db: pg.Client;
let base: string;
let env: Record<string, string>;
const sessions: Record<string, string> = {};

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-fp-');
  const rulesDir = join(dataDir, 'rules');
  filters = join(dataDir, 'rules-filters');
  mkdirSync(rulesDir);
  writeFileSync(join(rulesDir, 'root_ssh.yml'), RULE);
  const port = await freePort();
  env = {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), RULES_DIR: rulesDir, INGEST_ALLOW_ANONYMOUS: 'true', METRICS_TOKEN: METRICS,
  };
  soc = runNode('tools/cli/soc.js', ['up'], env);
  base = `http://127.0.0.1:${port}`;
  await waitFor('the API', async () => (await fetch(`${base}/healthz`)).ok, 240_000);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const users = createDb(database.url, { max: 1 });
  try {
    for (const role of ['viewer', 'analyst'] as const) await createUser(users, `${role}1`, role, `${role}-password-for-the-fp-test`);
  } finally {
    await users.destroy();
  }
  for (const role of ['viewer', 'analyst']) {
    const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-minisoc-request': '1' }, body: JSON.stringify({ name: `${role}1`, password: `${role}-password-for-the-fp-test` }) });
    expect(res.status, await res.text()).toBe(200);
    sessions[role] = sessionFrom(res.headers.get('set-cookie'));
  }
}, 300_000);

afterAll(async () => {
  await db?.end();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** An API call as the dashboard makes it: the session cookie and, unless told otherwise, the CSRF header. */
async function call(method: string, path: string, role: string, body?: unknown, csrf = true): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { cookie: `soc_session=${sessions[role]}` };
  if (csrf) headers['x-minisoc-request'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const login = (ip: string, second: number) => `<38>1 2026-12-01T10:00:${String(second).padStart(2, '0')}Z gw sshd 4242 - - Accepted password for root from ${ip} port 50001 ssh2`;

async function post(lines: string[]): Promise<void> {
  const res = await fetch(`${base}/api/ingest?source=bastion&format=syslog`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: lines.join('\n') });
  expect(res.status, await res.text()).toBe(202);
}

interface AlertRow { id: string; source_ip: string; status: string; count: number; close_reason: string | null }
async function alerts(ip?: string): Promise<AlertRow[]> {
  const { rows } = await db.query<AlertRow>(`SELECT id, host(source_ip) AS source_ip, status, count, close_reason FROM alerts WHERE rule_id = $1 ${ip ? 'AND host(source_ip) = $2' : ''} ORDER BY created_at`, ip ? [RULE_ID, ip] : [RULE_ID]);
  return rows;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in /metrics`);
  return Number(m[1]);
}

const BENIGN = '198.51.100.20';
let benignAlert: string;

describe('a false positive closed with a filter', () => {
  it('raises an alert for the event first', async () => {
    await post([login(BENIGN, 0)]);
    const [a] = await waitFor('the alert', async () => { const r = await alerts(BENIGN); return r.length === 1 && r; });
    benignAlert = a!.id;
    // The filter is proposed from the stored event, which the store writes apart from the alert.
    await waitFor('the alert\'s event stored', async () => (await call('GET', `/api/alerts/${benignAlert}`, 'viewer')).json.events.length === 1);
  });

  it('proposes a filter of the rule on the event\'s host, user and address, which drops that event', async () => {
    const p = await call('GET', `/api/alerts/${benignAlert}/filter`, 'viewer');
    expect(p.status, JSON.stringify(p.json)).toBe(200);
    expect(p.json).toMatchObject({ alertId: benignAlert, ruleId: RULE_ID, exists: false, matchesEvent: true, file: join(filters, `fp-${benignAlert}.yml`) });
    expect(p.json.candidates.filter((c: { selected: boolean }) => c.selected).map((c: { field: string; value: string }) => `${c.field}=${c.value}`))
      .toEqual(['host.name=gw', 'user.name=root', `source.ip=${BENIGN}`]);
    expect(p.json.yaml).toContain(`rules:\n    - ${RULE_ID}\n`);
    const narrow = await call('GET', `/api/alerts/${benignAlert}/filter?fields=source.ip`, 'viewer');
    expect(narrow.json.yaml).toMatch(/selection:\n {4}source\.ip: 198\.51\.100\.20\n {2}condition: selection/);
    const unknown = await call('GET', `/api/alerts/${benignAlert}/filter?fields=process.command_line`, 'viewer');
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/no usable value for process\.command_line/);
    expect((await call('GET', '/api/alerts/no-such-alert/filter', 'viewer')).status).toBe(404);
  });

  it('refuses to save before the alert is closed as a false positive, for a viewer, and without the CSRF header', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json;
    const open = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml });
    expect(open.status).toBe(409);
    expect(open.json.message).toMatch(/close it as false_positive or benign first/);
    expect((await call('PATCH', `/api/alerts/${benignAlert}`, 'analyst', { status: 'closed', closeReason: 'false_positive' })).status).toBe(200);
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'viewer', { yaml })).status).toBe(403);
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml }, false)).status).toBe(403);
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: '' })).status).toBe(400);
    expect(existsSync(join(filters, `fp-${benignAlert}.yml`))).toBe(false);
  });

  it('answers a broken edit with the loader\'s file and line, and writes nothing', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json as { yaml: string };
    const broken = yaml.replace('condition: selection', 'condition: selection and other');
    const line = broken.split('\n').findIndex((l) => l.includes('condition:')) + 1;
    const res = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: broken });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain(`${join(filters, `fp-${benignAlert}.yml`)}:${line}: condition 'selection and other'`);
    const other = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: yaml.replace(RULE_ID, '6b1f0c2a-7d3e-4f50-9a61-0b2c3d4e5fff') });
    expect(other.status).toBe(400);
    expect(other.json.message).toMatch(/must name the alert's rule/);
    expect(readdirSync(filters)).toEqual([]);
  });

  it('saves the analyst\'s edit, audited; detect reloads it and the same event no longer alerts while another still does', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json as { yaml: string };
    const edited = yaml.replace(/^title: .*$/m, 'title: The backup job signs in as root from its own address');
    const saved = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: edited, comment: 'nightly backup' });
    expect(saved.status, JSON.stringify(saved.json)).toBe(201);
    expect(saved.json).toMatchObject({ title: 'The backup job signs in as root from its own address', ruleId: RULE_ID, matchesEvent: true });
    expect(readFileSync(saved.json.file, 'utf8')).toBe(edited);
    expect(readdirSync(filters)).toEqual([`fp-${benignAlert}.yml`]);
    const { rows } = await db.query(`SELECT actor, target, detail FROM audit_log WHERE action = 'filter.create'`);
    expect(rows).toEqual([expect.objectContaining({ actor: 'analyst1', target: saved.json.id })]);
    expect(rows[0].detail).toMatchObject({ alertId: benignAlert, ruleId: RULE_ID, comment: 'nightly backup', yaml: edited });
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: edited })).status).toBe(409);

    await waitFor('detect to load the filter', async () => (await metric('minisoc_detect_filters_loaded')) === 1);
    expect(await metric('minisoc_detect_filtered_total')).toBe(0);
    await post([login(BENIGN, 30), login('198.51.100.21', 31)]);
    await waitFor('the other address to alert', async () => (await alerts('198.51.100.21')).length === 1);
    await waitFor('the benign login dropped by the filter', async () => (await metric('minisoc_detect_filtered_total')) === 1);
    // The repeat would have opened a new alert (the first is closed); there is still only the closed one.
    expect(await alerts(BENIGN)).toEqual([expect.objectContaining({ id: benignAlert, status: 'closed', count: 1, close_reason: 'false_positive' })]);
  });

  it('counts alerts, false positives and filters per rule on the rules API', async () => {
    const { json } = await call('GET', '/api/rules', 'viewer');
    const rule = json.items.find((r: { id: string }) => r.id === RULE_ID);
    expect(rule).toMatchObject({ kind: 'detection', hits: 2, alerts: 2, alerts24h: 2, alerts7d: 2, falsePositives: 1, filters: 1 });
    const filter = json.items.find((r: { kind: string }) => r.kind === 'filter');
    expect(filter).toMatchObject({ title: 'The backup job signs in as root from its own address', file: join(filters, `fp-${benignAlert}.yml`), alerts: 0 });
  });

  it('closes another false positive with a filter from the command line', async () => {
    const [other] = await alerts('198.51.100.21');
    const cliEnv = { DATABASE_URL: database.url, DATA_DIR: dataDir, RULES_DIR: env.RULES_DIR };
    const wrong = await runCli(['alerts', 'close', other!.id, '--reason', 'true_positive', '--filter'], cliEnv);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--filter goes with --reason false_positive or benign/);
    const preview = await runCli(['alerts', 'filter', other!.id, '--fields', 'source.ip,user.name'], cliEnv);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/selection:\n {4}user\.name: root\n {4}source\.ip: 198\.51\.100\.21\n/);
    const res = await runCli(['alerts', 'close', other!.id, '--reason', 'false_positive', '--filter', '--fields', 'source.ip'], cliEnv);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`${other!.id} closed (false_positive)`);
    expect(res.stdout).toContain(`filter saved to ${join(filters, `fp-${other!.id}.yml`)} (drops the alert's event)`);
    await waitFor('detect to load the second filter', async () => (await metric('minisoc_detect_filters_loaded')) === 2);
    const { json } = await call('GET', '/api/rules', 'viewer');
    expect(json.items.find((r: { id: string }) => r.id === RULE_ID)).toMatchObject({ falsePositives: 2, filters: 2 });
    const list = await runCli(['rules', 'list', '--counts', '--json'], cliEnv);
    expect(list.code, list.stderr).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; kind: string });
    expect(rows.find((r) => r.id === RULE_ID)).toMatchObject({ state: 'runs', alerts: 2, alerts24h: 2, alerts7d: 2, falsePositives: 2, hits: 2 });
    expect(rows.filter((r) => r.kind === 'filter')).toHaveLength(2);
  });
});
