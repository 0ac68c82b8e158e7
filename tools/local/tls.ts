// A local certificate authority for testing TLS (soc init --tls): CA, server and client certificates made with openssl.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../services/core/errors.js';

export interface LocalTls {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** For agents or services that present a certificate (mTLS). */
  clientCert: string;
  clientKey: string;
}

function files(dataDir: string): LocalTls {
  const dir = join(resolve(dataDir), 'tls');
  return {
    dir, ca: join(dir, 'ca.pem'), serverCert: join(dir, 'server.pem'), serverKey: join(dir, 'server-key.pem'),
    clientCert: join(dir, 'client.pem'), clientKey: join(dir, 'client-key.pem'),
  };
}

/** The local CA's files when `soc init --tls` made them, else undefined. */
export function localTls(dataDir: string): LocalTls | undefined {
  const f = files(dataDir);
  return existsSync(f.serverCert) && existsSync(f.serverKey) && existsSync(f.ca) ? f : undefined;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new ConfigError('openssl was not found on PATH: install it (Debian: apt-get install openssl) or bring your own certificates', { cause: err });
    throw new ConfigError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() ?? e.message}`, { cause: err });
  }
}

/**
 * Makes a CA (10 years) and, signed by it, a server certificate for `hosts` (DNS names and IP addresses) and a
 * client certificate, all EC P-256, keys mode 0600. Existing files are kept unless `force`.
 */
export function createLocalTls(dataDir: string, hosts: string[] = ['localhost', '127.0.0.1', '::1'], force = false): LocalTls {
  const f = files(dataDir);
  if (!force && localTls(dataDir) && existsSync(f.clientCert)) return f;
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  const key = (path: string) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], f.dir);
  key('ca-key.pem');
  openssl(['req', '-x509', '-new', '-key', 'ca-key.pem', '-sha256', '-days', '3650', '-subj', '/CN=MiniSOC local CA', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], f.dir);
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  const leaf = (name: string, cn: string, ext: string[]) => {
    key(`${name}-key.pem`);
    openssl(['req', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], f.dir);
    writeFileSync(join(f.dir, `${name}.ext`), ext.join('\n') + '\n');
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '825', '-sha256',
      '-extfile', `${name}.ext`, '-out', `${name}.pem`], f.dir);
  };
  // clientAuth too: a NATS cluster node presents this certificate when it dials its peers' routes (verified TLS routes).
  leaf('server', hosts[0] ?? 'localhost', ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=serverAuth,clientAuth', `subjectAltName=${san}`]);
  leaf('client', 'minisoc-client', ['basicConstraints=CA:FALSE', 'keyUsage=digitalSignature', 'extendedKeyUsage=clientAuth']);
  return f;
}
