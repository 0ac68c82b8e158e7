// Triage on the Incidents page in a real browser (Debian's chromium through playwright-core) against `soc up` on a real
// nats-server and PostgreSQL: alerts are published on ALERTS as detect publishes them, and the store, the gateway and
// the API do the rest. Search, ATT&CK names, a deep link that survives reload and Back, a comment, bulk close and its
// all-or-none refusal, reopening (and its one refusal), "N new" without losing loaded pages, and the live panel's fold.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../services/auth/users.js';
import { createDb, type Db } from '../../services/core/db/index.js';
import { Alert } from '../../services/core/proto.js';
import { subjects, type Severity } from '../../services/core/topology.js';
import { freePort } from '../../tools/local/postgres.js';
import { ROOT, createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'screenshots');
const PASSWORD = 'analyst-password-for-incidents';
const FILLERS = 110;
const KERBEROAST = 'Kerberoasting of service accounts';
const LSASS = 'LSASS memory read by an unusual process';
const BEACON = 'C2 beacon to a rare domain';

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let soc: Proc;
let http: string;
let nc: NatsConnection;
let js: JetStreamClient;
let db: Db;
let browser: Browser;
let page: Page;

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

/** An alert as the detect service publishes it; the store stores (or folds) it, the gateway shows it live. */
async function publish(a: { id: string; rule: string; title: string; level: Severity; score: number; key: string; host?: string; user?: string; ip?: string; techniques?: [string, string, string][] }): Promise<void> {
  const now = new Date().toISOString();
  const msg = Alert.encode({
    id: a.id, rule_id: a.rule, rule_title: a.title, level: a.level, score: a.score, dedup_key: a.key, timestamp: now, first_seen: now, count: 1,
    host_name: a.host ?? '', user_name: a.user ?? '', source_ip: a.ip ?? '',
    techniques: (a.techniques ?? []).map(([id, name, tactic]) => ({ id, name, tactics: [tactic] })),
  }).finish();
  await js.publish(subjects.alert(a.level), msg, { msgID: `incidents-test:${a.id}` });
}

const kerberoast = (n: number, id = `k${n}`) => publish({
  id, rule: 'it-kerberoast', title: KERBEROAST, level: 'high', score: 70, key: `it-kerberoast|host.name=dc-${n}`, host: `dc-${n}`,
  techniques: [['T1558.003', 'Steal or Forge Kerberos Tickets: Kerberoasting', 'credential-access']],
});

async function stored(ids: string[]): Promise<void> {
  await waitFor(`alerts ${ids.length > 3 ? `${ids.length} alerts` : ids.join(', ')} in PostgreSQL`, async () =>
    (await db.selectFrom('alerts').select('id').where('id', 'in', ids).execute()).length === ids.length, 60_000, 100);
}

const rows = () => page.locator('tbody tr.clickable');
const rowIds = () => rows().evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')));
const detail = () => page.getByTestId('incident-detail');
/** Waits until the detail pane says the incident has this status. */
async function statusShown(text: string): Promise<void> {
  await waitFor(`the incident ${text}`, async () => (await detail().getByTestId('incident-status').textContent({ timeout: 1000 }).catch(() => '')) === text, 30_000, 100);
}

/** Types into the search box and waits for the list of that search to be shown. */
async function search(text: string, expected: number): Promise<void> {
  await page.getByLabel('search incidents', { exact: true }).fill(text);
  await page.waitForURL((u) => (u.searchParams.get('q') ?? '') === text);
  await waitFor(`${expected} row(s) for "${text}"`, async () => (await rows().count()) === expected && !(await page.getByTestId('incident-count').textContent())?.includes('loading'), 30_000, 100);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('the dashboard is not built: run npm run build first');
  mkdirSync(SHOTS, { recursive: true });
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-browser-incidents-');
  // A rule pack of one rule that these tests never trigger: detect starts fast, and every alert is the test's own.
  mkdirSync(join(dataDir, 'rules'));
  writeFileSync(join(dataDir, 'rules', 'quiet.yml'), [
    'title: Never matched in the incidents test', 'id: 5b0c7c1e-3f7d-4f0e-9a55-0c1d2e3f4a5b', 'level: low',
    'logsource: {product: linux, service: sshd}', 'detection:', '  selection: {user.name: nobody-at-all}', '  condition: selection', '',
  ].join('\n'));
  const port = await freePort();
  http = `http://127.0.0.1:${port}`;
  soc = runNode('tools/cli/soc.js', ['up'], { NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), RULES_DIR: join(dataDir, 'rules') });
  await waitFor('the API', async () => {
    if (soc.child.exitCode !== null) throw new Error(`soc up exited: ${soc.output()}`);
    return (await fetch(`${http}/healthz`).catch(() => null))?.ok;
  }, 240_000, 250);
  db = createDb(database.url, { max: 2 });
  await createUser(db, 'ana', 'analyst', PASSWORD);
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  for (let n = 1; n <= 3; n++) await kerberoast(n);
  await publish({
    id: 'l1', rule: 'it-lsass', title: LSASS, level: 'critical', score: 85, key: 'it-lsass|host.name=ws-7|user.name=alice', host: 'ws-7', user: 'alice', ip: '192.0.2.77',
    techniques: [['T1003.001', 'OS Credential Dumping: LSASS Memory', 'credential-access']],
  });
  for (let n = 0; n < FILLERS; n++) {
    await publish({ id: `f${n}`, rule: 'it-filler', title: 'Filler port scan', level: 'low', score: 10, key: `it-filler|source.ip=10.1.0.${n}`, host: `f-${n}`, ip: `10.1.0.${n}` });
  }
  await stored(['k1', 'k2', 'k3', 'l1', ...Array.from({ length: FILLERS }, (_, n) => `f${n}`)]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(`${http}/`);
  await page.getByLabel('Name', { exact: true }).fill('ana');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Incidents', exact: true }).waitFor();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await nc?.close();
  await db?.destroy();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the Incidents page in chromium', () => {
  it('shows techniques with their ATT&CK names and searches titles, hosts, users and addresses', async () => {
    await page.getByRole('link', { name: 'Incidents', exact: true }).click();
    await waitFor('the first page of incidents', async () => (await rows().count()) === 100, 30_000, 100);
    const k1 = page.locator('tr[data-id="k1"]');
    expect(await k1.textContent()).toContain('T1558.003 Steal or Forge Kerberos Tickets: Kerberoasting');
    expect(await k1.textContent()).toContain('Credential Access');
    await shot('incidents-list');

    await search('lsass', 1);
    expect(await rowIds()).toEqual(['l1']);
    await shot('incidents-search');
    await search('ALICE', 1);
    await search('192.0.2.77', 1);
    expect(await rowIds()).toEqual(['l1']);
    await search('dc-2', 1);
    expect(await rowIds()).toEqual(['k2']);
    await search('kerberoast dc', 3);
    await search('no such thing', 0);
    expect(await page.locator('tbody').textContent()).toContain('No incidents match.');
  });

  it('opens an incident at its own address, which survives a reload and Back, and acknowledges it with a comment', async () => {
    await search('lsass', 1);
    await rows().first().click();
    await page.waitForURL(`${http}/incidents/l1?q=lsass`);
    await detail().getByText('OS Credential Dumping: LSASS Memory').waitFor();
    await page.reload();
    await detail().getByRole('heading', { name: LSASS }).waitFor();
    expect(await page.getByLabel('search incidents', { exact: true }).inputValue()).toBe('lsass');
    await waitFor('the searched list beside the detail', async () => JSON.stringify(await rowIds()) === '["l1"]', 30_000, 100);
    await page.goBack();
    await page.waitForURL(`${http}/incidents?q=lsass`);
    await detail().waitFor({ state: 'detached' });
    await page.goForward();
    await detail().getByRole('heading', { name: LSASS }).waitFor();

    // A fresh tab on the deep link alone.
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await ctx.addCookies(await page.context().cookies());
    const tab = await ctx.newPage();
    await tab.goto(`${http}/incidents/l1`);
    await tab.getByTestId('incident-detail').getByRole('heading', { name: LSASS }).waitFor();
    await ctx.close();

    await detail().getByLabel('comment', { exact: true }).fill('dumping from a backup agent? checking with IT');
    await detail().getByRole('button', { name: 'Acknowledge', exact: true }).click();
    const history = detail().getByTestId('history');
    await history.getByText('dumping from a backup agent? checking with IT').waitFor();
    expect(await history.textContent()).toMatch(/ana acknowledged/);
    await statusShown('acknowledged');
    await shot('incident-detail');
    // Acknowledged incidents stay in the default view (open + acknowledged).
    await search('', 100);
    await page.getByLabel('search incidents', { exact: true }).fill('ws-7');
    await page.waitForURL((u) => u.searchParams.get('q') === 'ws-7');
    await page.locator('tr[data-id="l1"]', { hasText: 'acknowledged' }).waitFor();
  });

  it('closes several incidents at once with a comment, and refuses a bulk change that cannot apply to all', async () => {
    await page.goto(`${http}/incidents`);
    await search('kerberoast', 3);
    await page.getByLabel('select all shown', { exact: true }).check();
    const bar = page.getByTestId('bulk-bar');
    expect(await bar.textContent()).toContain('3 selected');
    await bar.getByLabel('bulk comment', { exact: true }).fill('one campaign: contained, tickets rotated');
    await bar.getByLabel('bulk close reason', { exact: true }).selectOption('true_positive');
    await shot('incidents-bulk-selected');
    await bar.getByRole('button', { name: 'Close selected' }).click();
    await page.getByTestId('bulk-note').getByText('3 incidents closed (true_positive)').waitFor();
    // Closed: out of the default view.
    await waitFor('the closed rows to leave the list', async () => (await rows().count()) === 0, 10_000, 100);
    const audited = await db.selectFrom('audit_log').select(['target', 'detail']).where('target', 'in', ['k1', 'k2', 'k3']).where('action', '=', 'alert.triage').execute();
    expect(audited.map((r) => [r.target, (r.detail as any).to.status, (r.detail as any).comment]).sort()).toEqual([
      ['k1', 'closed', 'one campaign: contained, tickets rotated'], ['k2', 'closed', 'one campaign: contained, tickets rotated'], ['k3', 'closed', 'one campaign: contained, tickets rotated'],
    ]);
    await shot('incidents-bulk-closed');

    await page.getByLabel('status', { exact: true }).selectOption('');
    await waitFor('the closed incidents under any status', async () => (await rows().count()) === 3, 30_000, 100);
    await page.getByLabel('select all shown', { exact: true }).check();
    await page.getByTestId('bulk-bar').getByRole('button', { name: 'Acknowledge selected' }).click();
    const note = page.getByTestId('bulk-note');
    await note.getByText('nothing changed: 3 of 3 alert(s) cannot be changed by ack').waitFor();
    expect(await note.locator('li').count()).toBe(3);
    expect(await note.textContent()).toContain('k1: alert k1 is closed: a closed alert accepts only reopening');
    expect((await db.selectFrom('alerts').select('status').where('id', 'in', ['k1', 'k2', 'k3']).execute()).map((r) => r.status)).toEqual(['closed', 'closed', 'closed']);
    await shot('incidents-bulk-refused');
  });

  it('reopens a closed incident with a comment, and says which open incident stands in the way when one does', async () => {
    await page.goto(`${http}/incidents/k1?status=&q=kerberoast`);
    await statusShown('closed (true_positive)');
    await detail().getByLabel('comment', { exact: true }).fill('same SPNs requested again');
    await detail().getByRole('button', { name: 'Reopen', exact: true }).click();
    await statusShown('open');
    const last = detail().getByTestId('history').locator('li').last();
    expect(await last.textContent()).toMatch(/ana reopened\s*same SPNs requested again/);
    expect(await page.locator('tr[data-id="k1"]').textContent()).toContain('open');

    // dc-2 raises the alert again while k2 is closed: the store opens k2b, and k2 cannot be reopened beside it.
    await kerberoast(2, 'k2b');
    await stored(['k2b']);
    await page.locator('tr[data-id="k2"]').click();
    await page.waitForURL(`${http}/incidents/k2?status=&q=kerberoast`);
    await detail().getByRole('button', { name: 'Reopen', exact: true }).click();
    const note = detail().getByTestId('triage-note');
    await waitFor('the refusal', async () => (await note.textContent({ timeout: 1000 }).catch(() => ''))?.includes('cannot be reopened'), 30_000, 100);
    expect(await note.textContent()).toContain('the same dedup key already has a newer open alert k2b (open)');
    await shot('incident-reopen-refused');
    await note.getByRole('link', { name: 'Show the open one' }).click();
    await page.waitForURL(`${http}/incidents/k2b?status=&q=kerberoast`);
    await statusShown('open');
  });

  it('keeps the pages it loaded when new alerts arrive, and shows them as "N new" until asked', async () => {
    await page.goto(`${http}/incidents`);
    await waitFor('the first page', async () => (await rows().count()) === 100, 30_000, 100);
    await page.getByRole('button', { name: 'More', exact: true }).click();
    // Open and acknowledged: l1, k1 (reopened), k2b and the fillers.
    const total = FILLERS + 3;
    await waitFor('the second page below the first', async () => (await rows().count()) === total, 30_000, 100);
    const before = await rowIds();
    await publish({ id: 'n1', rule: 'it-new', title: 'Brand new ransomware note', level: 'critical', score: 95, key: 'it-new|host.name=fs-1', host: 'fs-1' });
    const fresh = page.getByTestId('new-incidents');
    await fresh.waitFor({ timeout: 30_000 });
    expect(await fresh.textContent()).toMatch(/^1 new/);
    expect(await rowIds()).toEqual(before);
    await shot('incidents-new-arrivals');
    await fresh.click();
    await waitFor('the new incident on top', async () => (await rows().count()) === total + 1, 10_000, 100);
    expect(await rowIds()).toEqual(['n1', ...before]);
  });

  it('folds repeats of one alert in the live panel with a count, and links the fold to its incident', async () => {
    await page.getByRole('link', { name: 'Live', exact: true }).click();
    await waitFor('the live connection', async () => /\blive\b/.test((await page.locator('header .status').textContent()) ?? '') && !(await page.locator('header .status').textContent())?.includes('offline'), 60_000, 200);
    for (let n = 1; n <= 5; n++) await publish({ id: `b${n}`, rule: 'it-beacon', title: BEACON, level: 'high', score: 65, key: 'it-beacon|host.name=ws-9', host: 'ws-9' });
    await publish({ id: 'c1', rule: 'it-other', title: 'Another condition', level: 'medium', score: 40, key: 'it-other|host.name=ws-9', host: 'ws-9' });
    const folds = page.getByTestId('live-alert');
    await waitFor('the five beacons folded into one line with ×5', async () => (await folds.filter({ hasText: BEACON }).textContent().catch(() => ''))?.includes('×5'), 30_000, 100);
    await folds.filter({ hasText: 'Another condition' }).waitFor();
    expect(await folds.filter({ hasText: BEACON }).count()).toBe(1);
    expect(await folds.filter({ hasText: 'Another condition' }).textContent()).not.toContain('×');
    await shot('live-alerts-folded');

    // The first of them the store wrote (it stores several at once) opened the incident; the other four were folded
    // into it and have no row of their own: the link finds the incident by the dedup key.
    const incident = await waitFor('the store to fold the five beacons', async () => {
      const row = await db.selectFrom('alerts').select(['id', 'count']).where('dedup_key', '=', 'it-beacon|host.name=ws-9').executeTakeFirst();
      return row?.count === 5 && row.id;
    }, 30_000, 100);
    expect(['b1', 'b2', 'b3', 'b4', 'b5']).toContain(incident);
    await folds.filter({ hasText: BEACON }).getByRole('link', { name: BEACON }).click();
    await page.waitForURL(`${http}/incidents/${incident}`);
    await detail().getByText('5×', { exact: false }).waitFor();
    await shot('incident-from-live-fold');
  });
});
