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
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') log.warn({ nats: s.type, server: (s as { server?: string }).server }, 'nats connection');
      }
    })();
  }
  return nc;
}
