// The investigation timeline in a real browser (Debian's chromium through playwright-core) against soc up on a real
// nats-server and PostgreSQL: open an address's timeline from an Events row, pivot to a neighbour, come Back; the loading,
// empty and error states; a screenshot of each state and the page's load times in test-output/.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../services/auth/users.js';
import { createDb, type Db } from '../../services/core/db/index.js';
import { freePort } from '../../tools/local/postgres.js';
import { ROOT, createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RULE_ID = '6b1f0c2e-9a4d-4e8b-b7c3-5d2a8f1e0c94';
const TITLE = 'Root signed in over SSH (timeline browser test)';
const PASSWORD = 'analyst-password-for-the-timeline';
const SHOTS = join(ROOT, 'test-output', 'screenshots');
const ATTACKER = '198.51.100.40';

let nats: TestNats;
let database: TestDatabase;
let db: Db;
let dataDir: string;
let soc: Proc;
let http: string;
let browser: Browser;
let page: Page;
const timings: Record<string, unknown> = {};

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('the dashboard is not built: run npm run build first');
  mkdirSync(SHOTS, { recursive: true });
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-browser-timeline-');
  mkdirSync(join(dataDir, 'rules'));
  writeFileSync(join(dataDir, 'rules', 'root_ssh.yml'), [
    `title: ${TITLE}`, `id: ${RULE_ID}`, 'level: high', 'tags: [attack.t1078]',
    'logsource: {product: linux, service: sshd}', 'detection:', '  selection: {event.outcome: success, user.name: root}', '  condition: selection', '',
  ].join('\n'));
  const port = await freePort();
  http = `http://127.0.0.1:${port}`;
  soc = runNode('tools/cli/soc.js', ['up'], {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), RULES_DIR: join(dataDir, 'rules'), INGEST_ALLOW_ANONYMOUS: 'true',
  });
  await waitFor('the API', async () => (await fetch(`${http}/healthz`)).ok, 240_000);
  db = createDb(database.url, { max: 1 });
  await createUser(db, 'ana', 'analyst', PASSWORD);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
}, 300_000);

afterAll(async () => {
  if (Object.keys(timings).length) writeFileSync(join(ROOT, 'test-output', 'timeline-timings.json'), `${JSON.stringify(timings, null, 2)}\n`);
  await browser?.close();
  await db?.destroy();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function ingest(source: string, body: string, format?: string): Promise<void> {
  const res = await fetch(`${http}/api/ingest?source=${source}${format ? `&format=${format}` : ''}`, {
    method: 'POST', headers: { 'content-type': format ? 'text/plain' : 'application/x-ndjson' }, body,
  });
  expect(res.status, await res.text()).toBe(202);
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });
const list = () => page.getByTestId('timeline-list');

/** The last timeline measure of the page: from asking the API to the drawn list, and since the page's navigation began. */
function lastMeasure(p: Page): Promise<{ renderMs: number; sinceNavigationMs: number }> {
  return p.evaluate(() => {
    const m = performance.getEntriesByName('minisoc:timeline').at(-1)!;
    return { renderMs: Math.round(m.duration), sinceNavigationMs: Math.round(m.startTime + m.duration) };
  });
}

/** The rows of the list: type, severity class, time and the text of the source cell. */
async function rows(): Promise<{ type: string; cls: string; time: string; source: string }[]> {
  return list().locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    type: tr.getAttribute('data-type') ?? '', cls: tr.className, time: tr.children[0]!.textContent ?? '', source: tr.children[2]!.textContent ?? '',
  })));
}

describe('the investigation timeline in chromium', () => {
  it('opens an address\'s timeline from an Events row: events of two sources and the alert, newest first, the alert marked', async () => {
    const now = Date.now();
    const t = (minAgo: number) => new Date(now - minAgo * 60_000).toISOString();
    // A firewall (NDJSON) and a bastion's sshd (syslog) see the same address; the sign-in as root raises the rule.
    await ingest('fw', [3, 2, 1].map((m, i) => JSON.stringify({
      '@timestamp': t(m), host: 'fw-1', src_ip: ATTACKER, dst_ip: '10.20.0.5', dst_port: 22, message: `allowed tcp ${ATTACKER} -> 10.20.0.5:22 (${i})`,
    })).join('\n'));
    await ingest('bastion', `<38>1 ${t(0.5)} gw sshd 4242 - - Accepted password for root from ${ATTACKER} port 50001 ssh2`, 'syslog');
    await waitFor('the four events and the alert stored', async () => {
      const ev = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('source_ip', '=', ATTACKER).executeTakeFirst();
      const al = await db.selectFrom('alerts').select('id').where('rule_id', '=', RULE_ID).execute();
      return Number(ev?.n) >= 4 && al.length >= 1;
    }, 120_000, 250);

    await page.goto(`${http}/`);
    await page.getByLabel('Name', { exact: true }).fill('ana');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByLabel('source IP', { exact: true }).fill(ATTACKER);
    await page.getByRole('button', { name: 'Search' }).click();
    await waitFor('the four events of the address', async () => (await page.locator('tbody tr.clickable').count()) === 4, 30_000, 200);
    await shot('timeline-1-events');

    const started = Date.now();
    await page.locator('tbody tr.clickable').first().getByRole('link', { name: ATTACKER, exact: true }).click();
    await list().waitFor();
    timings.fromEventsRowClickMs = Date.now() - started;
    timings.fromEventsRow = await lastMeasure(page);
    expect(new URL(page.url()).pathname).toBe(`/timeline/ip/${ATTACKER}`);
    expect(await page.getByTestId('timeline-entity').textContent()).toContain(ATTACKER);
    await shot('timeline-2-address');

    const r = await rows();
    expect(r.map((x) => x.type).sort()).toEqual(['alert', 'event', 'event', 'event', 'event']);
    // Newest first (the times print as sortable UTC text), the alert highlighted by its severity.
    expect(r.map((x) => x.time)).toEqual([...r.map((x) => x.time)].sort().reverse());
    expect(r.find((x) => x.type === 'alert')!.cls).toMatch(/\balert\b.*\bhigh\b|\bhigh\b.*\balert\b/);
    expect(new Set(r.map((x) => x.source))).toEqual(new Set(['fw', 'bastion']));
    expect(await list().locator('tr.alert').textContent()).toContain(TITLE);
    const neighbours = page.getByTestId('timeline-neighbours');
    for (const name of ['fw-1', 'gw', '10.20.0.5', 'root', RULE_ID]) await neighbours.getByRole('link', { name, exact: true }).waitFor();
  });

  it('pivots to a neighbour and comes back with the browser\'s Back', async () => {
    const started = Date.now();
    await page.getByTestId('timeline-neighbours').getByRole('link', { name: 'fw-1', exact: true }).click();
    await waitFor('the host timeline', async () => new URL(page.url()).pathname === '/timeline/host/fw-1'
      && (await page.getByTestId('timeline-entity').textContent())?.includes('fw-1') && (await list().locator('tbody tr').count()) === 3, 30_000, 100);
    timings.pivotClickMs = Date.now() - started;
    timings.pivot = await lastMeasure(page);
    expect((await rows()).every((x) => x.type === 'event' && x.source === 'fw')).toBe(true);
    // The address it was reached from is a neighbour here, a link back the other way.
    await page.getByTestId('timeline-neighbours').getByRole('link', { name: ATTACKER, exact: true }).waitFor();
    await shot('timeline-3-pivot-host');

    await page.goBack();
    await waitFor('the address timeline again', async () => new URL(page.url()).pathname === `/timeline/ip/${ATTACKER}`
      && (await list().locator('tbody tr').count()) === 5, 30_000, 100);
    expect(await page.getByTestId('timeline-entity').textContent()).toContain(ATTACKER);
    await shot('timeline-4-back');
  });

  it('keeps the window when it changes, and shows the loading, empty and error states', async () => {
    await page.getByLabel('window', { exact: true }).selectOption('1h');
    await waitFor('the 1 h window in the address', async () => new URL(page.url()).search === '?since=1h' && (await list().locator('tbody tr').count()) === 5, 30_000, 100);

    // Held answers make the loading state visible for as long as the test needs to see it.
    let release!: () => void;
    const held = new Promise<void>((res) => { release = res; });
    await page.route('**/api/timeline?*', async (route) => { await held; await route.continue(); });
    await page.getByTestId('timeline-neighbours').getByRole('link', { name: 'root', exact: true }).click();
    await page.getByTestId('timeline-loading').waitFor();
    await shot('timeline-5-loading');
    release();
    await list().waitFor();
    expect(new URL(page.url()).search).toBe('?since=1h');
    await page.unroute('**/api/timeline?*');

    const started = Date.now();
    await page.goto(`${http}/timeline/user/nobody-at-all`);
    await page.getByTestId('timeline-empty').waitFor();
    timings.emptyDirectLoadMs = Date.now() - started;
    await shot('timeline-6-empty');

    await page.goto(`${http}/timeline/ip/not-an-address`);
    expect(await page.getByRole('alert').textContent()).toMatch(/"not-an-address" is not an IP address/);
    await shot('timeline-7-bad-entity');

    // A full page load of a timeline (the link an analyst pastes): navigation start to the drawn list.
    const direct = Date.now();
    await page.goto(`${http}/timeline/ip/${ATTACKER}`);
    await list().waitFor();
    timings.directLoadMs = Date.now() - direct;
    timings.directLoad = await lastMeasure(page);
  });
});
