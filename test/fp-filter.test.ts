// Noise control end to end, with detect in a process of its own on a DATA_DIR of its own (as in Kubernetes: no
// filesystem shared with the API): an alert closed as a false positive, its proposed Sigma filter saved (API and CLI)
// into the KV bucket RULE_FILTERS, detect loading it so the same event no longer alerts while other events of the rule
// still do (also for the first batch after a restart), a broken value skipped alone, the rule counts (API and soc rules
// list), the filter lifted again (API and CLI) so the event alerts once more, and a filter an earlier version saved as a
// file (RULES_FILTERS_DIR) still in force.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../services/auth/users.js';
import { createDb } from '../services/core/db/index.js';
import { KV_BUCKETS } from '../services/core/topology.js';
import { filterKey } from '../services/detect/filter-store.js';
import { freePort } from '../tools/local/postgres.js';
import {
  createTestDatabase, runCli, runNode, sessionFrom, startTestNats, tempDir, waitFor, waitForConsumersDone, type Proc, type TestDatabase, type TestNats,
} from './harness.js';

const METRICS = 'metrics-token-for-the-fp-filter-test';
const RULE_ID = '6b1f0c2a-7d3e-4f50-9a61-0b2c3d4e5f60';
const RULE = [
  'title: Root signed in over SSH', `id: ${RULE_ID}`, 'level: medium', 'tags: [attack.t1078]',
  'logsource: {product: linux, service: sshd}', 'detection:', '  selection: {event.outcome: success, user.name: root}', '  condition: selection', '',
].join('\n');
/** Every service but detect, which runs apart. */
const WITHOUT_DETECT = 'store,heartbeat,command,enrich,normalize,http';
const PIPELINE = [
  { stream: 'INGEST', durable: 'normalize' }, { stream: 'NORMALIZED', durable: 'enrich' }, { stream: 'ENRICHED', durable: 'detect' }, { stream: 'ALERTS', durable: 'store' },
];

let nats: TestNats;
let database: TestDatabase;
let rulesDir: string;
let apiDir: string;
let detectDir: string;
let legacyDir: string;
let soc: Proc;
let detect: Proc;
let detectMetrics: string;
let detectEnv: Record<string, string | undefined>;
let db: pg.Client;
let nc: NatsConnection;
let bucket: KV;
let base: string;
let cliEnv: Record<string, string>;
const sessions: Record<string, string> = {};

/** Starts detect alone, with its own DATA_DIR, and waits until it is ready (its rules and saved filters loaded). */
async function startDetect(): Promise<void> {
  detect = runNode('services/detect/main.js', [], detectEnv);
  await waitFor('detect to be ready', async () => {
    if (detect.child.exitCode !== null) throw new Error(`detect exited: ${detect.output()}`);
    return (await fetch(`${detectMetrics}/readyz`).catch(() => undefined))?.status === 200;
  }, 120_000, 250);
}

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  // The rule pack both read, as an image ships it; each service's DATA_DIR is its own.
  rulesDir = tempDir('minisoc-fp-rules-');
  apiDir = tempDir('minisoc-fp-api-');
  detectDir = tempDir('minisoc-fp-detect-');
  legacyDir = tempDir('minisoc-fp-legacy-');
  writeFileSync(join(rulesDir, 'root_ssh.yml'), RULE);
  writeFileSync(join(legacyDir, 'fp-saved-by-an-earlier-version.yml'), [
    'title: Saved as a file by an earlier version', 'logsource: {product: linux, service: sshd}',
    'filter:', `  rules: [${RULE_ID}]`, `  selection: {source.ip: ${LEGACY}}`, '  condition: selection', '',
  ].join('\n'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  soc = runNode('tools/cli/soc.js', ['up'], {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: apiDir, HTTP_PORT: String(port), RULES_DIR: rulesDir, INGEST_ALLOW_ANONYMOUS: 'true',
    METRICS_TOKEN: METRICS, SOC_SERVICES: WITHOUT_DETECT,
  });
  detectMetrics = `http://127.0.0.1:${metricsPort}`;
  detectEnv = { NATS_URL: nats.url, DATABASE_URL: undefined, DATA_DIR: detectDir, RULES_DIR: rulesDir, RULES_FILTERS_DIR: legacyDir, METRICS_PORT: String(metricsPort) };
  base = `http://127.0.0.1:${port}`;
  cliEnv = { DATABASE_URL: database.url, DATA_DIR: apiDir, RULES_DIR: rulesDir };
  await Promise.all([startDetect(), waitFor('the API', async () => (await fetch(`${base}/healthz`)).ok, 240_000)]);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  nc = await connect({ servers: nats.url });
  bucket = await new Kvm(nc).open(KV_BUCKETS.RULE_FILTERS);
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
  await nc?.close();
  if (detect) expect(await detect.kill('SIGTERM'), detect.output()).toBe(0);
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  for (const d of [rulesDir, apiDir, detectDir, legacyDir]) if (d) rmSync(d, { recursive: true, force: true });
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

/** A metric of the detect process, from its own METRICS_PORT. */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${detectMetrics}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text);
  if (!m) throw new Error(`${name} not in detect's /metrics`);
  return Number(m[1]);
}

/** The value saved under a key of the bucket, or null. */
async function saved(key: string): Promise<string | null> {
  const e = await bucket.get(key);
  return e?.operation === 'PUT' ? e.string() : null;
}

/**
 * Makes PostgreSQL refuse audit rows of one action while `work` runs: at the insert, or only when the transaction
 * commits (a deferred constraint trigger), after the bucket was written.
 */
async function refusingAudit(action: string, when: 'insert' | 'commit', work: () => Promise<void>): Promise<void> {
  await db.query(`CREATE FUNCTION fp_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.action = TG_ARGV[0] THEN RAISE EXCEPTION 'audit refused by the test'; END IF; RETURN NEW; END $$`);
  await db.query(when === 'insert'
    ? `CREATE TRIGGER fp_test_refuse BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fp_test_refuse('${action}')`
    : `CREATE CONSTRAINT TRIGGER fp_test_refuse AFTER INSERT ON audit_log DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fp_test_refuse('${action}')`);
  try {
    await work();
  } finally {
    await db.query('DROP TRIGGER fp_test_refuse ON audit_log');
    await db.query('DROP FUNCTION fp_test_refuse()');
  }
}

/** Neither service has a filters directory: what detect loads came through NATS. */
function noFilterFiles(): void {
  for (const dir of [apiDir, detectDir]) expect(existsSync(join(dir, 'rules-filters')), dir).toBe(false);
}

const BENIGN = '198.51.100.20';
const OTHER = '198.51.100.21';
/** The address of the filter saved as a file by an earlier version (detect's RULES_FILTERS_DIR, which the API cannot see). */
const LEGACY = '198.51.100.30';
let benignAlert: string;
let otherAlert: string;

describe('a false positive closed with a filter, detect running apart', () => {
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
    const key = filterKey(benignAlert);
    expect(p.json).toMatchObject({ alertId: benignAlert, ruleId: RULE_ID, exists: false, matchesEvent: true, key, file: `kv:RULE_FILTERS/${key}` });
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

  it('refuses to save before the alert is closed as a false positive, for a viewer, without the CSRF header, and when too large', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json as { yaml: string };
    const open = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml });
    expect(open.status).toBe(409);
    expect(open.json.message).toMatch(/close it as false_positive or benign first/);
    expect((await call('PATCH', `/api/alerts/${benignAlert}`, 'analyst', { status: 'closed', closeReason: 'false_positive' })).status).toBe(200);
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'viewer', { yaml })).status).toBe(403);
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml }, false)).status).toBe(403);
    expect((await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: '' })).status).toBe(400);
    // Within the schema's characters but over the bucket's bytes (each é is two).
    const heavy = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: `${yaml}# ${'é'.repeat(40_000)}\n` });
    expect(heavy.status).toBe(400);
    expect(heavy.json.message).toMatch(/bytes; at most 64512 are saved/);
    expect(await saved(filterKey(benignAlert))).toBeNull();
  });

  it('answers a broken edit with the loader\'s file and line, and saves nothing', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json as { yaml: string };
    const broken = yaml.replace('condition: selection', 'condition: selection and other');
    const line = broken.split('\n').findIndex((l) => l.includes('condition:')) + 1;
    const res = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: broken });
    expect(res.status).toBe(400);
    expect(res.json.message).toContain(`kv:RULE_FILTERS/${filterKey(benignAlert)}:${line}: condition 'selection and other'`);
    const other = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: yaml.replace(RULE_ID, '6b1f0c2a-7d3e-4f50-9a61-0b2c3d4e5fff') });
    expect(other.status).toBe(400);
    expect(other.json.message).toMatch(/must name the alert's rule/);
    const keys: string[] = [];
    for await (const k of await bucket.keys()) keys.push(k);
    expect(keys).toEqual([]);
  });

  it('saves no filter when its audit row cannot be written, whether the insert or the commit fails', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json as { yaml: string };
    for (const when of ['insert', 'commit'] as const) {
      await refusingAudit('filter.create', when, async () => {
        const res = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml });
        expect(res.status, `${when}: ${JSON.stringify(res.json)}`).toBe(500);
      });
      // Failing at the commit, the key had been created: it was deleted again.
      expect(await saved(filterKey(benignAlert)), when).toBeNull();
    }
    expect((await db.query(`SELECT 1 FROM audit_log WHERE action = 'filter.create'`)).rows).toEqual([]);
  });

  it('saves the analyst\'s edit into the bucket, audited; detect loads it and the same event no longer alerts while another still does', async () => {
    const { yaml } = (await call('GET', `/api/alerts/${benignAlert}/filter`, 'analyst')).json as { yaml: string };
    const edited = yaml.replace(/^title: .*$/m, 'title: The backup job signs in as root from its own address');
    const res = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: edited, comment: 'nightly backup' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({ title: 'The backup job signs in as root from its own address', ruleId: RULE_ID, matchesEvent: true, key: filterKey(benignAlert) });
    expect(await saved(filterKey(benignAlert))).toBe(edited);
    const { rows } = await db.query(`SELECT actor, target, detail FROM audit_log WHERE action = 'filter.create'`);
    expect(rows).toEqual([expect.objectContaining({ actor: 'analyst1', target: res.json.id })]);
    expect(rows[0].detail).toMatchObject({ alertId: benignAlert, ruleId: RULE_ID, key: filterKey(benignAlert), comment: 'nightly backup', yaml: edited });
    const again = await call('POST', `/api/alerts/${benignAlert}/filter`, 'analyst', { yaml: edited });
    expect(again.status).toBe(409);
    expect(again.json.message).toMatch(/saved already: kv:RULE_FILTERS\//);
    expect((await call('GET', `/api/alerts/${benignAlert}/filter`, 'viewer')).json.exists).toBe(true);

    // The filter saved as a file by an earlier version, and this one.
    await waitFor('detect to load the filter', async () => (await metric('minisoc_detect_filters_loaded')) === 2);
    expect(await metric('minisoc_detect_filtered_total')).toBe(0);
    await post([login(BENIGN, 30), login(OTHER, 31)]);
    await waitFor('the other address to alert', async () => (await alerts(OTHER)).length === 1);
    await waitFor('the benign login dropped by the filter', async () => (await metric('minisoc_detect_filtered_total')) === 1);
    await waitForConsumersDone(nats.url, PIPELINE);
    // The repeat would have opened a new alert (the first is closed); there is still only the closed one.
    expect(await alerts(BENIGN)).toEqual([expect.objectContaining({ id: benignAlert, status: 'closed', count: 1, close_reason: 'false_positive' })]);
    noFilterFiles();
  });

  it('counts alerts, false positives and filters per rule on the rules API, and lists the saved filter', async () => {
    const { json } = await call('GET', '/api/rules', 'viewer');
    const rule = json.items.find((r: { id: string }) => r.id === RULE_ID);
    expect(rule).toMatchObject({ kind: 'detection', hits: 2, alerts: 2, alerts24h: 2, alerts7d: 2, falsePositives: 1, filters: 1 });
    const filter = json.items.find((r: { kind: string }) => r.kind === 'filter');
    expect(filter).toMatchObject({ title: 'The backup job signs in as root from its own address', file: `kv:RULE_FILTERS/${filterKey(benignAlert)}`, alerts: 0 });
    const list = await call('GET', '/api/filters', 'viewer');
    expect(list.json.items).toEqual([expect.objectContaining({
      alertId: benignAlert, key: filterKey(benignAlert), rules: [RULE_ID], title: 'The backup job signs in as root from its own address', yaml: await saved(filterKey(benignAlert)),
    })]);
  });

  it('skips a value that does not load, naming its key, and keeps every other filter', async () => {
    // As an operator could write one with `nats kv put`: a key of no alert, a value that is no YAML.
    const key = 'written-by-hand';
    await bucket.put(key, 'title: [unclosed');
    await waitFor('detect to log the broken value', () => /saved filter problem/.test(detect.output()) && detect.output().includes(key), 30_000);
    expect(detect.child.exitCode).toBeNull();
    expect(await metric('minisoc_detect_filters_loaded')).toBe(2);
    const list = await call('GET', '/api/filters', 'viewer');
    expect(list.json.items.find((i: { key: string }) => i.key === key)).toMatchObject({ alertId: null, error: expect.stringContaining(`kv:RULE_FILTERS/${key}:`) });
    const rules = await call('GET', '/api/rules', 'viewer');
    expect(rules.json.items.find((r: { file: string; error?: string }) => r.file === `kv:RULE_FILTERS/${key}`)?.error).toBeTruthy();
    expect(rules.json.items.find((r: { id: string }) => r.id === RULE_ID)).toMatchObject({ filters: 1 });
    await bucket.delete(key);
  });

  it('closes another false positive with a filter from the command line and lists the saved filters', async () => {
    [{ id: otherAlert }] = await alerts(OTHER) as [AlertRow];
    const wrong = await runCli(['alerts', 'close', otherAlert, '--reason', 'true_positive', '--filter'], cliEnv);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--filter goes with --reason false_positive or benign/);
    const preview = await runCli(['alerts', 'filter', otherAlert, '--fields', 'source.ip,user.name'], cliEnv);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toMatch(/selection:\n {4}user\.name: root\n {4}source\.ip: 198\.51\.100\.21\n/);
    const res = await runCli(['alerts', 'close', otherAlert, '--reason', 'false_positive', '--filter', '--fields', 'source.ip'], cliEnv);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`${otherAlert} closed (false_positive)`);
    expect(res.stdout).toContain(`filter saved to kv:RULE_FILTERS/${filterKey(otherAlert)} (drops the alert's event)`);
    await waitFor('detect to load the second filter', async () => (await metric('minisoc_detect_filters_loaded')) === 3);
    const { json } = await call('GET', '/api/rules', 'viewer');
    expect(json.items.find((r: { id: string }) => r.id === RULE_ID)).toMatchObject({ falsePositives: 2, filters: 2 });
    const rules = await runCli(['rules', 'list', '--counts', '--json'], cliEnv);
    expect(rules.code, rules.stderr).toBe(0);
    const rows = rules.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; kind: string; file: string });
    expect(rows.find((r) => r.id === RULE_ID)).toMatchObject({ state: 'runs', alerts: 2, alerts24h: 2, alerts7d: 2, falsePositives: 2, hits: 2 });
    expect(rows.filter((r) => r.kind === 'filter').map((r) => r.file).sort()).toEqual([filterKey(benignAlert), filterKey(otherAlert)].map((k) => `kv:RULE_FILTERS/${k}`).sort());
    const list = await runCli(['rules', 'filters', 'list', '--json'], cliEnv);
    expect(list.code, list.stderr).toBe(0);
    const items = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { alertId: string; rules: string[] });
    expect(items.map((i) => i.alertId).sort()).toEqual([benignAlert, otherAlert].sort());
    expect(items.every((i) => i.rules[0] === RULE_ID)).toBe(true);
    noFilterFiles();
  });

  it('holds the saved filters from the first batch after a restart of detect', async () => {
    expect(await detect.kill('SIGTERM'), detect.output()).toBe(0);
    // Both wait in ENRICHED for detect's durable; the first batch it reads holds them.
    const third = '198.51.100.22';
    await post([login(BENIGN, 40), login(OTHER, 41), login(third, 42)]);
    await startDetect();
    await waitFor('the third address to alert', async () => (await alerts(third)).length === 1);
    await waitForConsumersDone(nats.url, PIPELINE);
    expect(await metric('minisoc_detect_filtered_total')).toBe(2);
    expect(await alerts(BENIGN)).toEqual([expect.objectContaining({ id: benignAlert, status: 'closed' })]);
    expect(await alerts(OTHER)).toEqual([expect.objectContaining({ id: otherAlert, status: 'closed' })]);
  });

  it('lifts a filter through the API, audited, and the event alerts again', async () => {
    const path = `/api/alerts/${benignAlert}/filter`;
    expect((await call('DELETE', path, 'viewer')).status).toBe(403);
    expect((await call('DELETE', path, 'analyst', undefined, false)).status).toBe(403);
    const text = await saved(filterKey(benignAlert));
    expect(text).not.toBeNull();
    // An audit row that cannot be committed puts the deleted filter back.
    await refusingAudit('filter.delete', 'commit', async () => {
      expect((await call('DELETE', path, 'analyst')).status).toBe(500);
    });
    expect(await saved(filterKey(benignAlert))).toBe(text);
    const res = await call('DELETE', path, 'analyst');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toMatchObject({ alertId: benignAlert, key: filterKey(benignAlert), title: 'The backup job signs in as root from its own address' });
    expect(await saved(filterKey(benignAlert))).toBeNull();
    const { rows } = await db.query(`SELECT actor, target, detail FROM audit_log WHERE action = 'filter.delete'`);
    expect(rows).toEqual([expect.objectContaining({ actor: 'analyst1', target: res.json.id })]);
    expect(rows[0].detail).toMatchObject({ alertId: benignAlert, key: filterKey(benignAlert), rules: [RULE_ID] });
    const gone = await call('DELETE', path, 'analyst');
    expect(gone.status).toBe(404);
    expect(gone.json.message).toMatch(/no filter is saved for alert/);
    expect((await call('GET', path, 'viewer')).json.exists).toBe(false);

    await waitFor('detect to drop the filter', async () => (await metric('minisoc_detect_filters_loaded')) === 2);
    await post([login(BENIGN, 50)]);
    const reopened = await waitFor('the benign login to alert again', async () => (await alerts(BENIGN)).find((a) => a.id !== benignAlert && a.status === 'open'));
    expect(reopened.count).toBe(1);
  });

  it('lifts the other filter from the command line', async () => {
    const res = await runCli(['rules', 'filters', 'remove', otherAlert, '--comment', 'the address is reused'], cliEnv);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain(`filter kv:RULE_FILTERS/${filterKey(otherAlert)}`);
    const { rows } = await db.query(`SELECT actor, detail FROM audit_log WHERE action = 'filter.delete' AND detail->>'alertId' = $1`, [otherAlert]);
    expect(rows).toEqual([expect.objectContaining({ actor: expect.stringMatching(/^cli:/), detail: expect.objectContaining({ comment: 'the address is reused' }) })]);
    const again = await runCli(['rules', 'filters', 'remove', otherAlert], cliEnv);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no filter is saved for alert/);
    const list = await runCli(['rules', 'filters', 'list'], cliEnv);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toBe('');
    expect(list.stderr).toMatch(/^0 saved filter\(s\) in the KV bucket RULE_FILTERS/);
    await waitFor('detect to drop the second filter', async () => (await metric('minisoc_detect_filters_loaded')) === 1);
  });

  it('still loads a filter an earlier version saved as a file in RULES_FILTERS_DIR', async () => {
    const control = '198.51.100.33';
    const before = await metric('minisoc_detect_filtered_total');
    await post([login(LEGACY, 55), login(control, 56)]);
    await waitFor('the control address to alert', async () => (await alerts(control)).length === 1);
    await waitForConsumersDone(nats.url, PIPELINE);
    expect(await metric('minisoc_detect_filtered_total')).toBe(before + 1);
    expect(await alerts(LEGACY)).toEqual([]);
  });
});
