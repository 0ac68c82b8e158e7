// Where a running `soc up` says how to reach it, so other `soc` commands find its NATS and database.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../services/core/config.js';
import { ConfigError } from '../../services/core/errors.js';

export interface Runtime {
  pid: number;
  natsUrl: string;
  databaseUrl: string;
  httpUrl: string;
}

export function runtimeFile(dataDir: string): string {
  return join(resolve(dataDir), 'runtime.json');
}

export function writeRuntime(dataDir: string, r: Runtime): void {
  writeFileSync(runtimeFile(dataDir), JSON.stringify(r, null, 2), { mode: 0o600 });
}

export function removeRuntime(dataDir: string): void {
  rmSync(runtimeFile(dataDir), { force: true });
}

/** DATABASE_URL from the environment, else from the runtime file of a running `soc up`. */
export function databaseUrl(): string {
  const config = loadConfig();
  if (config.DATABASE_URL) return config.DATABASE_URL;
  try {
    return (JSON.parse(readFileSync(runtimeFile(config.DATA_DIR), 'utf8')) as Runtime).databaseUrl;
  } catch {
    throw new ConfigError(`no database: set DATABASE_URL, or start MiniSOC with \`soc up\` (no ${runtimeFile(config.DATA_DIR)} found)`);
  }
}
