// The network map in a real browser (Debian's chromium through playwright-core) against a full `soc up`: the loading
// state ends, the map is fitted to the canvas, no two visible labels overlap, a group opens, the severity filter.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb } from '../../services/core/db/index.js';
import { alertRow } from '../../services/store/core.js';
import { insertAlerts } from '../../services/store/sink.js';
import { freePort } from '../../tools/local/postgres.js';
import { ROOT, tempDir, waitFor, type Proc, startSocUp, type SocRuntime } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'test-output', 'screenshots');
const TIMINGS = join(ROOT, 'test-output', 'timings.json');
const EVENTS = 600;

let dataDir: string;
let soc: Proc;
let http: string;
let browser: Browser;
let page: Page;
let runtime: SocRuntime;

/** Six busy internal addresses talking to public addresses spread over 60 /24 networks, a few of them in 203.0.113.0/24. */
function connections(): string {
  const now = Date.now();
  return Array.from({ length: EVENTS }, (_, i) => JSON.stringify({
    '@timestamp': new Date(now - i * 1000).toISOString(), host: `srv-${i % 6}`, src_ip: `10.20.0.${(i % 6) + 1}`,
    dst_ip: i % 10 === 0 ? `203.0.113.${(i % 7) + 1}` : `${45 + (i % 60)}.${(i * 7) % 200}.${i % 3}.${(i % 11) + 1}`, dst_port: 443, message: `connection ${i}`,
  })).join('\n');
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('the dashboard is not built: run npm run build first');
  mkdirSync(SHOTS, { recursive: true });
  dataDir = tempDir('minisoc-browser-net-');
  const env = { DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), NATS_URL: undefined, DATABASE_URL: undefined, STAGE_MAX_BACKOFF_MS: '2000', INGEST_ALLOW_ANONYMOUS: 'true' };
  ({ soc, runtime } = await startSocUp(env));
  http = runtime.httpUrl;
  const res = await fetch(`${http}/api/ingest?source=netmap`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: connections() });
  expect(res.status, await res.text()).toBe(202);
  const db = createDb(runtime.databaseUrl, { max: 1 });
  try {
    // The store writes the aggregates with the events: wait until it counted every connection.
    await waitFor('the connections counted', async () => {
      const { connections: n } = await db.selectFrom('network_flows').select((eb) => eb.fn.sum<string>('connections').as('connections')).where('source_id', '=', 'netmap').executeTakeFirstOrThrow();
      return Number(n) >= EVENTS;
    }, 120_000, 250);
    const at = new Date().toISOString();
    await insertAlerts(db, [alertRow({ id: 'net-a1', dedup_key: 'net-a1', rule_id: 'net', rule_title: 'Beacon', level: 'high', score: 50, count: 1, timestamp: at, first_seen: at, source_ip: '10.20.0.1' }, 'm-net-a1')]);
  } finally {
    await db.destroy();
  }
  const password = await waitFor('the first admin password', () => {
    const file = join(dataDir, 'admin-password');
    return existsSync(file) && readFileSync(file, 'utf8').trim();
  }, 30_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(http);
  await page.getByLabel('Name', { exact: true }).fill('admin');
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('link', { name: 'Network', exact: true }).waitFor();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (soc) {
    const code = await soc.kill('SIGTERM');
    expect(code, soc.output()).toBe(0);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

/** Waits for the loading state to end and the layout to settle; returns the node count. */
async function settled(what: string): Promise<number> {
  await page.getByTestId('network-loading').waitFor({ state: 'detached', timeout: 60_000 });
  const info = await waitFor(what, async () => {
    const m = /^(\d+) nodes[^·]*$/.exec((await page.getByTestId('network-info').textContent()) ?? '');
    return m ? Number(m[1]) : false;
  }, 60_000, 100);
  return info as number;
}

/** The canvas' size and where the nodes are drawn in it (the graph writes their screen bounds on the canvas). */
async function fitted(): Promise<void> {
  const canvas = (await page.getByTestId('network-canvas').boundingBox())!;
  const bounds = (await page.getByTestId('network-canvas').getAttribute('data-node-bounds'))!.split(',').map(Number);
  const [x0, y0, x1, y1] = bounds as [number, number, number, number];
  expect(x0).toBeGreaterThanOrEqual(0);
  expect(y0).toBeGreaterThanOrEqual(0);
  expect(x1).toBeLessThanOrEqual(canvas.width);
  expect(y1).toBeLessThanOrEqual(canvas.height);
  // Fitted, not merely inside: centred, and filling most of one dimension of the canvas unless a small map reached the
  // fitting's zoom cap (1.5: beyond it dots grow into discs).
  expect(Math.abs((x0 + x1) / 2 - canvas.width / 2)).toBeLessThan(canvas.width * 0.05);
  expect(Math.abs((y0 + y1) / 2 - canvas.height / 2)).toBeLessThan(canvas.height * 0.05);
  const zoom = Number(await page.getByTestId('network-canvas').getAttribute('data-zoom'));
  if (zoom < 1.5) expect(Math.max((x1 - x0) / canvas.width, (y1 - y0) / canvas.height)).toBeGreaterThan(0.6);
}

async function labelBoxes(): Promise<{ x: number; y: number; width: number; height: number; text: string }[]> {
  const spans = page.getByTestId('network-labels').locator('span:not([hidden])');
  const out = [];
  for (const span of await spans.all()) out.push({ ...(await span.boundingBox())!, text: (await span.textContent()) ?? '' });
  return out;
}

function expectNoOverlap(boxes: { x: number; y: number; width: number; height: number; text: string }[]): void {
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i]!, b = boxes[j]!;
      const overlap = a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;
      expect(overlap, `labels ${a.text} and ${b.text} overlap`).toBe(false);
    }
  }
}

describe('network map in chromium', () => {
  it('ends its loading state with a map fitted to the canvas and labels that do not overlap', async () => {
    await page.getByRole('link', { name: 'Network', exact: true }).click();
    await page.getByTestId('network-loading').waitFor({ timeout: 10_000 }).catch(() => undefined);
    const nodes = await settled('the laid-out map');
    expect(nodes).toBeGreaterThan(20);
    const firstPictureMs = Number(await page.getByTestId('network-canvas').getAttribute('data-first-picture-ms'));
    expect(firstPictureMs).toBeGreaterThan(0);
    const timings = existsSync(TIMINGS) ? JSON.parse(readFileSync(TIMINGS, 'utf8')) as Record<string, unknown> : {};
    writeFileSync(TIMINGS, `${JSON.stringify({ ...timings, networkFirstPictureMs: firstPictureMs, networkNodes: nodes }, null, 2)}\n`);
    await fitted();
    const boxes = await labelBoxes();
    expect(boxes.length).toBeGreaterThan(3);
    expectNoOverlap(boxes);
    // The alerted address is never hidden in a group, and the public ones are grouped.
    expect(boxes.map((b) => b.text)).toContain('10.20.0.1');
    await shot('network-map-fitted');
    // Zoomed in, more labels fit, still without overlapping.
    const canvas = (await page.getByTestId('network-canvas').boundingBox())!;
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    await page.mouse.wheel(0, -600);
    await waitFor('labels after zooming', async () => (await labelBoxes()).length > 0, 10_000, 100);
    expectNoOverlap(await labelBoxes());
    await shot('network-map-zoomed');
  });

  it('opens a group address by address from its details', async () => {
    await page.getByLabel('find node', { exact: true }).fill('203.0.113.0/24');
    await page.getByLabel('find node', { exact: true }).press('Enter');
    await page.locator('aside').getByText('address group').waitFor();
    // Found means centred: a click in the middle of the canvas selects it again.
    const canvas = (await page.getByTestId('network-canvas').boundingBox())!;
    await page.mouse.click(canvas.x + 5, canvas.y + 5);
    await page.locator('aside').getByText('Click a node.').waitFor();
    await page.mouse.click(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    await page.locator('aside').getByText('203.0.113.0/24', { exact: true }).waitFor();
    await page.getByTestId('network-expand').click();
    await settled('the map with the group opened');
    await page.getByLabel('find node', { exact: true }).fill('203.0.113.1');
    await page.getByLabel('find node', { exact: true }).press('Enter');
    await page.locator('aside').getByText('203.0.113.1', { exact: true }).waitFor();
    await page.getByLabel('find node', { exact: true }).fill('203.0.113.0/24');
    await page.getByLabel('find node', { exact: true }).press('Enter');
    await page.getByText('no node 203.0.113.0/24 on the map').waitFor();
    expectNoOverlap(await labelBoxes());
    await shot('network-map-expanded');
  });

  it('keeps to the neighbours of high alerts when filtered by severity', async () => {
    const before = await settled('the map');
    await page.getByLabel('alert severity', { exact: true }).selectOption('high');
    const after = await waitFor('the filtered map', async () => {
      const n = await settled('the filtered map');
      return n < before && n;
    }, 60_000, 200);
    // 10.20.0.1 and the addresses and groups it talked to.
    expect(after).toBeGreaterThan(1);
    await fitted();
    expectNoOverlap(await labelBoxes());
    await shot('network-map-high');
  });
});
