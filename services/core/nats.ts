// The NATS connection every service opens, with unlimited reconnects and optional credentials.
import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection, type TlsOptions } from '@nats-io/transport-node';
import { ConfigError } from './errors.js';
import type { Logger } from './log.js';

export interface NatsOptions {
  url: string;
  name: string;
  credsFile?: string;
  /** TLS to the server (CA, client certificate): see services/core/tls.ts natsTlsOptions. */
  tls?: TlsOptions;
  log?: Logger;
  /**
   * Keep trying when no server answers at start (a service started before NATS, or while it restarts)
   * instead of failing; for services, not for commands a person waits on.
   */
  waitForServer?: boolean;
}

/** Whether version text such as '2.9.10' is at least `min` ([major, minor, patch]). */
export function versionAtLeast(version: string | readonly number[], min: readonly number[]): boolean {
  const v = typeof version === 'string' ? version.replace(/^v/, '').split('.').map((p) => Number.parseInt(p, 10) || 0) : version;
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
}

/** The oldest nats-server that keeps MiniSOC's promise of no loss across a single-node restart (docs/operations.md). */
export const NATS_FULL_SUPPORT = [2, 10, 0] as const;

export async function connectNats(o: NatsOptions): Promise<NatsConnection> {
  if (o.waitForServer) o.log?.info({ url: o.url }, 'connecting to NATS (waiting until a server answers)');
  let authenticator;
  if (o.credsFile) {
    try {
      authenticator = credsAuthenticator(readFileSync(o.credsFile));
    } catch (err) {
      throw new ConfigError(`NATS_CREDS=${o.credsFile}: cannot read the credentials file`, { cause: err });
    }
  }
  const nc = await connect({
    servers: o.url.split(',').map((s) => s.trim()).filter(Boolean),
    name: o.name,
    authenticator,
    tls: o.tls,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: o.waitForServer ?? false,
  });
  if (o.log) {
    const log = o.log;
    const version = nc.info?.version;
    if (version && !versionAtLeast(version, NATS_FULL_SUPPORT)) {
      log.warn({ natsVersion: version }, 'nats-server below 2.10: it runs, but a single-node restart may lose the last acknowledged batches (no sync_interval, stream sequences can go back); see docs/operations.md');
    }
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn({ nats: s.type, server: (s as { server?: string }).server }, 'nats connection');
      }
    })();
  }
  return nc;
}
