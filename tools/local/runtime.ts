// Where a running `soc up` says how to reach it, so other `soc` commands find its NATS and database.
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../services/core/config.js';
import { ConfigError } from '../../services/core/errors.js';
import { natsTlsOptions } from '../../services/core/tls.js';
import type { TlsOptions } from '@nats-io/transport-node';
import type { ServiceState } from '../../services/core/supervision.js';

export interface Runtime {
  pid: number;
  natsUrl: string;
  databaseUrl: string;
  httpUrl: string;
  /** The backend's NATS credentials and the CA of the server's certificate, for CLI commands that use NATS. */
  natsCreds?: string;
  natsTlsCa?: string;
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

/** NATS_URL (with NATS_CREDS, NATS_TLS_*) from the environment, else the running `soc up`'s URL, credentials and CA. */
export function natsTarget(): { url: string; credsFile?: string; tls?: TlsOptions } {
  const config = loadConfig();
  if (config.NATS_URL) {
    return { url: config.NATS_URL, credsFile: config.NATS_CREDS, tls: natsTlsOptions({ caFile: config.NATS_TLS_CA, certFile: config.NATS_TLS_CERT, keyFile: config.NATS_TLS_KEY }) };
  }
  let r: Runtime;
  try {
    r = JSON.parse(readFileSync(runtimeFile(config.DATA_DIR), 'utf8')) as Runtime;
  } catch {
    throw new ConfigError(`no NATS: set NATS_URL, or start MiniSOC with \`soc up\` (no ${runtimeFile(config.DATA_DIR)} found)`);
  }
  return { url: r.natsUrl, credsFile: config.NATS_CREDS ?? r.natsCreds, tls: natsTlsOptions({ caFile: config.NATS_TLS_CA ?? r.natsTlsCa }) };
}

/** The service states the running `soc up` last wrote (DATA_DIR/services.json); null when there is none. */
export function supervisedServices(): ServiceState[] | null {
  try {
    return (JSON.parse(readFileSync(join(resolve(loadConfig().DATA_DIR), 'services.json'), 'utf8')) as { services: ServiceState[] }).services;
  } catch {
    return null;
  }
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
