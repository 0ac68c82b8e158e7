// Starts a local nats-server (NATS_SERVER_BIN, else the first on PATH) with JetStream, for `soc up` and the test harness.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_FULL_SUPPORT, versionAtLeast } from '../../services/core/nats.js';
import { spawnTied } from './tied.js';

export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
  constructor(options?: ErrorOptions) {
    super(`nats-server was not found (${natsServerBin()}): build the current release with \`go install github.com/nats-io/nats-server/v2@${NATS_SERVER_VERSION}\` and set NATS_SERVER_BIN (or put it on PATH; Debian's apt-get install nats-server is the 2.9 minimum), or set NATS_URL to a running server`, options);
  }
}

/** The release tests, CI and `soc up` are meant to run (docs/operations.md); 2.9.10 is the minimum. */
export const NATS_SERVER_VERSION = 'v2.15.2';

/** The nats-server program: NATS_SERVER_BIN when set, else `nats-server` from PATH. */
export function natsServerBin(): string {
  return process.env.NATS_SERVER_BIN || 'nats-server';
}

const versions = new Map<string, [number, number, number] | null>();

/** The version `nats-server --version` reports ([major, minor, patch]), or null when it cannot be run. */
export function natsServerVersion(bin = natsServerBin()): [number, number, number] | null {
  if (!versions.has(bin)) {
    const out = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const m = /v(\d+)\.(\d+)\.(\d+)/.exec(`${out.stdout ?? ''}${out.stderr ?? ''}`);
    versions.set(bin, m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null);
  }
  return versions.get(bin)!;
}

/** Whether this nats-server takes `jetstream { sync_interval }` (2.10+; 2.9 refuses the config). */
export function hasSyncInterval(version: readonly number[] | null): boolean {
  return version !== null && versionAtLeast(version, NATS_FULL_SUPPORT);
}

/**
 * The config nats-server runs with: the given one, or with `syncAlways` a copy with `sync_interval: always` in
 * its jetstream block, so a PubAck means the message is on disk (fsync), not only in the page cache. The copy
 * is written into the store directory, its includes re-pointed from there (nats-server resolves them relative
 * to the including file).
 */
export function effectiveConfig(configFile: string, storeDir: string, syncAlways: boolean): string {
  if (!syncAlways) return configFile;
  const base = dirname(resolve(configFile));
  let text = readFileSync(configFile, 'utf8').replace(/^([ \t]*include[ \t]+)(["']?)([^"'\s]+)\2[ \t]*$/gm,
    (_all, kw: string, _q: string, path: string) => `${kw}${JSON.stringify(relative(resolve(storeDir), resolve(base, path)))}`);
  const block = /^jetstream\s*[:=]?\s*\{[ \t]*$/m;
  text = block.test(text) ? text.replace(block, (open) => `${open}\n  sync_interval: always`) : `${text}\njetstream {\n  sync_interval: always\n}\n`;
  const file = join(storeDir, 'nats-server.conf');
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

export interface LocalNats {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface NatsServerOptions {
  /** JetStream store directory (created). */
  storeDir: string;
  /** Client port; -1 picks a free one. */
  port?: number;
  host?: string;
  configFile?: string;
  /** Where nats-server's own log goes (default: discarded unless it fails to start). */
  logFile?: string;
  timeoutMs?: number;
  /** fsync every JetStream write before its PubAck (2.10+; default: on unless NATS_SYNC_ALWAYS=false). */
  syncAlways?: boolean;
}

function configPath(given?: string): string {
  if (given) return given;
  // From dist/tools/local the repository root is three levels up, from tools/local (tsx/vitest) two.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const p = resolve(here, up, 'nats.conf');
    try { readFileSync(p); return p; } catch { /* try the next */ }
  }
  throw new Error('nats.conf not found beside the repository root');
}

export async function startNatsServer(o: NatsServerOptions): Promise<LocalNats> {
  mkdirSync(o.storeDir, { recursive: true });
  const portsDir = mkdtempSync(join(tmpdir(), 'minisoc-ports-'));
  const args = ['-c', effectiveConfig(configPath(o.configFile), o.storeDir, (o.syncAlways ?? process.env.NATS_SYNC_ALWAYS !== 'false') && hasSyncInterval(natsServerVersion())), '-a', o.host ?? '127.0.0.1', '-p', String(o.port ?? -1), '-js', '-sd', o.storeDir, '--ports_file_dir', portsDir];
  if (o.logFile) args.push('-l', o.logFile);
  // Tied to this process: a SIGKILLed soc up (or test worker) leaves no nats-server behind.
  const child = spawnTied(natsServerBin(), args, { deathSignal: 'SIGTERM', stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  const started = await new Promise<{ port: number }>((res, rej) => {
    const deadline = Date.now() + (o.timeoutMs ?? 15_000);
    child.once('error', (err: NodeJS.ErrnoException) => rej(err.code === 'ENOENT' ? new NatsServerMissingError({ cause: err }) : err));
    // 127: setpriv (tools/local/tied.ts) found no nats-server to run.
    child.once('exit', (code) => rej(code === 127 ? new NatsServerMissingError() : new Error(`nats-server exited with code ${code} before it was ready: ${stderr.trim()}`)));
    const poll = () => {
      try {
        const file = readdirSync(portsDir).find((f) => f.endsWith('.ports'));
        if (file) {
          const ports = JSON.parse(readFileSync(join(portsDir, file), 'utf8')) as { nats: string[] };
          const url = new URL(ports.nats[0]!);
          return res({ port: Number(url.port) });
        }
      } catch { /* file not complete yet */ }
      if (Date.now() > deadline) return rej(new Error(`nats-server did not report its port within ${o.timeoutMs ?? 15_000} ms: ${stderr.trim()}`));
      setTimeout(poll, 25);
    };
    poll();
  }).finally(() => rmSync(portsDir, { recursive: true, force: true }));
  return {
    url: `nats://${o.host ?? '127.0.0.1'}:${started.port}`,
    port: started.port,
    process: child,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}
