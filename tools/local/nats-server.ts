// Starts a local nats-server (from PATH) with JetStream, for `soc up` and the test harness.
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTied } from './tied.js';

export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
  constructor(options?: ErrorOptions) {
    super('nats-server was not found on PATH: install it (Debian: apt-get install nats-server) or set NATS_URL to a running server', options);
  }
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
  const args = ['-c', configPath(o.configFile), '-a', o.host ?? '127.0.0.1', '-p', String(o.port ?? -1), '-js', '-sd', o.storeDir, '--ports_file_dir', portsDir];
  if (o.logFile) args.push('-l', o.logFile);
  // Tied to this process: a SIGKILLed soc up (or test worker) leaves no nats-server behind.
  const child = spawnTied('nats-server', args, { deathSignal: 'SIGTERM', stdio: ['ignore', 'ignore', 'pipe'] });
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
