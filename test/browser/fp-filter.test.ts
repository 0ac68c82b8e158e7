// The false-positive flow in a real browser (Debian's chromium through playwright-core) against soc up on a real
// nats-server and PostgreSQL: close an incident as a false positive, narrow and edit the offered filter, see a broken
// edit refused with its line, save (into the KV bucket RULE_FILTERS), and read the alert and false-positive counts on
// the Rules page.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../services/auth/users.js';
import { createDb } from '../../services/core/db/index.js';
import { KV_BUCKETS } from '../../services/core/topology.js';
import { filterKey } from '../../services/detect/filter-store.js';
import { freePort } from '../../tools/local/postgres.js';
import { ROOT, createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RULE_ID = '2c9e4b7a-1f3d-4a6b-8c5e-7d9f0a1b2c3d';
const TITLE = 'Root signed in over SSH from a browser test';
const PASSWORD = 'analyst-password-for-the-browser';
const SHOTS = join(ROOT, 'test-output', 'screenshots');

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let soc: Proc;
let http: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('the dashboard is not built: run npm run build first');
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-browser-fp-');
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
  const db = createDb(database.url, { max: 1 });
  try { await createUser(db, 'ana', 'analyst', PASSWORD); } finally { await db.destroy(); }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The filter saved for an alert in the bucket, or null. */
async function savedFilter(alertId: string): Promise<string | null> {
  const nc = await connect({ servers: nats.url });
  try {
    const e = await (await new Kvm(nc).open(KV_BUCKETS.RULE_FILTERS)).get(filterKey(alertId));
    return e?.operation === 'PUT' ? e.string() : null;
  } finally {
    await nc.close();
  }
}

async function ingest(lines: string[]): Promise<void> {
  const res = await fetch(`${http}/api/ingest?source=bastion&format=syslog`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: lines.join('\n') });
  expect(res.status, await res.text()).toBe(202);
}

describe('closing a false positive in the dashboard', () => {
  it('offers the filter, refuses a broken edit with its line, saves an edited one, and counts it on the Rules page', async () => {
    await ingest(['<38>1 2026-12-01T10:00:00Z gw sshd 4242 - - Accepted password for root from 198.51.100.40 port 50001 ssh2']);
    await page.goto(`${http}/`);
    await page.getByLabel('Name', { exact: true }).fill('ana');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Incidents', exact: true }).click();
    const row = page.locator('tr', { hasText: TITLE }).first();
    await waitFor('the incident in the list', async () => {
      if (await row.count()) return true;
      await page.getByLabel('sort', { exact: true }).selectOption('time');
      await page.getByLabel('sort', { exact: true }).selectOption('score');
      return false;
    }, 90_000, 1000);
    // The event is stored apart from the alert; the filter is proposed from it.
    const alertId = await waitFor('the alert and its stored event', () => page.evaluate(async () => {
      const list = (await (await fetch('/api/incidents')).json()) as { items: { id: string }[] };
      const id = list.items[0]?.id;
      if (!id) return false;
      const one = (await (await fetch(`/api/alerts/${id}`)).json()) as { events: unknown[] };
      return one.events.length > 0 && id;
    }), 60_000, 500);
    await row.click();
    const detail = page.getByTestId('incident-detail');
    await detail.getByLabel('close reason', { exact: true }).selectOption('false_positive');
    await detail.getByRole('button', { name: 'Close', exact: true }).click();

    const fp = page.getByTestId('fp-filter');
    const yaml = fp.getByLabel('filter YAML', { exact: true });
    await yaml.waitFor();
    expect(await fp.textContent()).toContain("As proposed, it drops this alert's event.");
    expect(await yaml.inputValue()).toMatch(/selection:\n {4}host\.name: gw\n {4}user\.name: root\n {4}source\.ip: 198\.51\.100\.40\n/);
    // Unticking a field proposes the document again without it.
    await fp.getByRole('checkbox', { name: 'user.name = root' }).uncheck();
    await waitFor('the proposal without user.name', async () => !(await yaml.inputValue()).includes('user.name:'), 30_000, 100);

    const text = await yaml.inputValue();
    const broken = text.replace('condition: selection', 'condition: selection and missing');
    await yaml.fill(broken);
    await fp.getByRole('button', { name: 'Save filter' }).click();
    const line = broken.split('\n').findIndex((l) => l.includes('condition:')) + 1;
    const file = `kv:RULE_FILTERS/${filterKey(alertId)}`;
    await fp.getByTestId('fp-error').waitFor();
    expect(await fp.getByTestId('fp-error').textContent()).toContain(`${file}:${line}: condition 'selection and missing'`);
    expect(await savedFilter(alertId)).toBeNull();
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'incident-fp-filter.png') });

    const edited = text.replace(/^title: .*$/m, 'title: The bastion backup job');
    await yaml.fill(edited);
    await fp.getByRole('button', { name: 'Save filter' }).click();
    await fp.getByText('Filter saved to').waitFor();
    expect(await fp.getByText('Filter saved to').textContent()).toContain(file);
    expect(await savedFilter(alertId)).toBe(edited);

    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    const ruleRow = page.locator(`tr[data-rule="${RULE_ID}"]`);
    await ruleRow.waitFor();
    expect(await ruleRow.getByTestId('fp').textContent()).toBe('1 (100%)');
    await expect.poll(async () => (await page.locator('tr', { hasText: 'The bastion backup job' }).count()), { timeout: 30_000 }).toBe(1);
    // Sorting by false positives puts the rule first (the filter has none).
    await page.getByRole('button', { name: 'FP', exact: true }).click();
    expect(await page.getByRole('columnheader', { name: /FP/ }).getAttribute('aria-sort')).toBe('descending');
    expect(await page.locator('tbody tr').first().getAttribute('data-rule')).toBe(RULE_ID);
    await page.screenshot({ path: join(SHOTS, 'rules-counts.png') });
  });
});
