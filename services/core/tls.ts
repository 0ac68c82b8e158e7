// TLS from certificate files: HTTPS options for the API and TLS options for NATS connections, read once at start.
import { readFileSync } from 'node:fs';
import type { TlsOptions as NatsTlsOptions } from '@nats-io/transport-node';
import type { Config } from './config.js';
import { ConfigError } from './errors.js';

function read(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${setting}=${path}: cannot read the file (${(err as Error).message})`, { cause: err });
  }
}

/** Fastify's `https` option when TLS_CERT_FILE is set; nothing (plain HTTP) otherwise. */
export function httpsOptions(config: Config): { https?: { cert: Buffer; key: Buffer; ca?: Buffer } } {
  if (!config.TLS_CERT_FILE && !config.TLS_KEY_FILE) return {};
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) throw new ConfigError('HTTPS needs both TLS_CERT_FILE and TLS_KEY_FILE');
  return {
    https: {
      cert: read('TLS_CERT_FILE', config.TLS_CERT_FILE), key: read('TLS_KEY_FILE', config.TLS_KEY_FILE),
      // Intermediate certificates sent with the server's own.
      ...(config.TLS_CA_FILE ? { ca: read('TLS_CA_FILE', config.TLS_CA_FILE) } : {}),
    },
  };
}

/** TLS options for a NATS connection from file paths; undefined when none is given (plain or tls:// URL as is). */
export function natsTlsOptions(o: { caFile?: string; certFile?: string; keyFile?: string }): NatsTlsOptions | undefined {
  if (!o.caFile && !o.certFile && !o.keyFile) return undefined;
  if (!!o.certFile !== !!o.keyFile) throw new ConfigError('a NATS client certificate needs both its certificate and its key file');
  // Read here so a missing file is a clear configuration error, not a failed handshake later.
  return {
    ...(o.caFile ? { ca: read('NATS CA file', o.caFile).toString() } : {}),
    ...(o.certFile ? { cert: read('NATS client certificate', o.certFile).toString(), key: read('NATS client key', o.keyFile!).toString() } : {}),
  };
}
