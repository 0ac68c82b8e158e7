// The analysts' plane in a real browser (Debian's chromium through playwright-core) against a full `soc up` (issue 18):
// the dashboard runs under its CSP without a violation, and a page of a second origin on the same host (same-site,
// so the SameSite=Strict cookie goes along) can neither run a DLQ retry nor read /ws as the signed-in admin.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../services/auth/users.js';
import { createDb } from '../../services/core/db/index.js';
import { freePort } from '../../tools/local/postgres.js';
import { ROOT, tempDir, waitFor, type Proc, startSocUp, type SocRuntime } from '../harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let dataDir: string;
let soc: Proc;
let http: string;
let browser: Browser;
let page: Page;
let attacker: Server;
let attackerUrl: string;
let runtime: SocRuntime;
const violations: string[] = [];

/** The other origin's page: a form that posts to the DLQ retry route, and a script that opens /ws. */
function attackPage(target: string): string {
  const ws = target.replace(/^http/, 'ws');
  return `<!doctype html><meta charset="utf-8"><title>elsewhere</title>
<form id="retry" method="POST" action="${target}/api/dlq/retry" enctype="text/plain"><input name="x" value="1"></form>
<script>
  window.wsOutcome = new Promise((res) => {
    const ws = new WebSocket('${ws}/ws');
    ws.onmessage = (e) => res('message ' + String(e.data).slice(0, 80));
    ws.onclose = (e) => res('closed ' + e.code);
    ws.onerror = () => res('error');
  });
</script>`;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  if (!existsSync(join(ROOT, 'dist', 'web', 'index.html'))) throw new Error('the dashboard is not built: run npm run build first');
  dataDir = tempDir('minisoc-browser-sec-');
  const env = { DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), NATS_URL: undefined, DATABASE_URL: undefined, STAGE_MAX_BACKOFF_MS: '2000' };
  const started = await startSocUp(env);
  soc = started.soc;
  runtime = started.runtime;
  // The same host name as the attacker's page: only the port differs.
  http = started.runtime.httpUrl.replace('localhost', '127.0.0.1');
  const port = await freePort();
  attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(attackPage(http)));
  await new Promise<void>((res) => attacker.listen(port, '127.0.0.1', res));
  attackerUrl = `http://127.0.0.1:${port}/`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // One context: the attacker's page later opens in the signed-in admin's browser, with the admin's cookie jar.
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.on('console', (m) => { if (/Content.Security.Policy/i.test(m.text())) violations.push(m.text()); });
  // Runs in the page (this file is typed for Node, so the script is a string).
  await page.addInitScript({ content: "document.addEventListener('securitypolicyviolation', (e) => console.error('Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));" });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((res) => (attacker ? attacker.close(res) : res(undefined)));
  if (soc) {
    const code = await soc.kill('SIGTERM');
    expect(code, soc.output()).toBe(0);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the dashboard and a page of another origin', () => {
  it('signs in through the dashboard (its requests carry the CSRF header) and shows every page without a CSP violation', async () => {
    const password = await waitFor('the first admin password', () => {
      const file = join(dataDir, 'admin-password');
      return existsSync(file) && readFileSync(file, 'utf8').trim();
    }, 30_000);
    const res = await page.goto(`${http}/`);
    expect(res!.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    await page.getByLabel('Name', { exact: true }).fill('admin');
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('link', { name: 'Incidents', exact: true }).waitFor();
    for (const name of ['Live', 'Incidents', 'Events', 'Network', 'Agents & sources', 'Rules', 'Users']) {
      await page.getByRole('link', { name, exact: true }).click();
      await page.waitForLoadState('networkidle');
    }
    expect(violations).toEqual([]);
  }, 120_000);

  it('refuses the other origin\'s DLQ retry (a text/plain form post with the admin\'s cookie) and its /ws', async () => {
    // In the admin's browser context, so the admin's session cookie is there to be abused.
    const other = await page.context().newPage();
    await other.goto(attackerUrl);
    expect(await other.evaluate('window.wsOutcome')).toMatch(/^(error|closed)/);
    const answer = other.waitForResponse((r) => r.url().endsWith('/api/dlq/retry'));
    await other.evaluate("document.getElementById('retry').submit()");
    const res = await answer;
    expect(res.status()).toBe(403);
    expect(await res.text()).toMatch(/not allowed|x-minisoc-request/);
    // The admin's own page still works: the refusals were about the origin, not the session.
    const own = await page.evaluate("fetch('/api/dlq/retry', { method: 'POST', headers: { 'x-minisoc-request': '1' } }).then((r) => r.status)");
    expect(own).toBe(200);
    await other.close();
  }, 60_000);

  it('lets an admin disable a user in the Users page, and that user\'s open dashboard loses its live view at once', async () => {
    const db = createDb(runtime.databaseUrl);
    await createUser(db, 'vera', 'viewer', 'viewer password 1');
    await db.destroy();
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const vera = await ctx.newPage();
    await vera.goto(`${http}/`);
    await vera.getByLabel('Name', { exact: true }).fill('vera');
    await vera.getByLabel('Password', { exact: true }).fill('viewer password 1');
    await vera.getByRole('button', { name: 'Log in' }).click();
    await vera.getByTitle('live connection up').waitFor();
    expect(await vera.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0);

    await page.getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    const row = page.getByTestId('users').getByRole('row').filter({ hasText: 'vera' });
    await row.getByRole('button', { name: 'Disable' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    // The gateway closes vera's socket (code 4001) and the reconnect is refused: the dashboard shows it offline.
    await vera.getByTitle('live connection down, reconnecting').waitFor({ timeout: 30_000 });
    await page.getByTestId('audit').getByText('user.update').first().waitFor();
    await ctx.close();
  }, 120_000);
});
