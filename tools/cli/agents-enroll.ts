// `soc agents enroll|revoke|credentials` and `soc init`: NATS keys, one-time enrollment tokens, revocation.
import { dirname } from 'node:path';
import { loadConfig } from '../../services/core/config.js';
import { ConfigError, errorMessage } from '../../services/core/errors.js';
import { checkTags, createEnrollmentToken, listCredentials, revokeAgent } from '../../services/enroll/enroll.js';
import { withSystemNats } from '../../services/enroll/routes.js';
import { authDir, ensureNatsAuth, loadNatsAuth, pushAccountJwt } from '../../services/core/nats-accounts.js';
import { createLocalTls } from '../local/tls.js';
import { parseDurationMs } from '../../services/core/time.js';
import { cliActor, withDb } from './incidents.js';
import { natsTarget } from '../local/runtime.js';
import { audit } from '../../services/core/audit.js';

export async function enrollToken(o: { expires: string; tags?: string; json?: boolean }): Promise<void> {
  const ttlS = Math.ceil(parseDurationMs('--expires', o.expires) / 1000);
  let tags: string[];
  try { tags = checkTags(o.tags ? o.tags.split(',').map((t) => t.trim()).filter(Boolean) : []); } catch (err) { throw new ConfigError(`--tags: ${errorMessage(err)}`); }
  const { token, expiresAt } = await withDb(async (db) => {
    const t = await createEnrollmentToken(db, { ttlS, tags, createdBy: cliActor() });
    await audit(db, cliActor(), 'agent.enroll-token', null, { expiresAt: t.expiresAt, tags });
    return t;
  });
  if (o.json) { process.stdout.write(`${JSON.stringify({ token, expiresAt: expiresAt.toISOString(), tags })}\n`); return; }
  process.stdout.write(`${token}\n`);
  process.stderr.write(`one-time enrollment token, valid until ${expiresAt.toISOString()}: soc-agent enroll --server <https://this-server> --token <token>\n`);
}

export async function revoke(id: string): Promise<void> {
  const auth = loadNatsAuth(authDir(loadConfig()));
  const { revoked, accountJwt } = await withDb(async (db) => {
    const r = await revokeAgent(db, auth, id);
    if (r.accountJwt) await audit(db, cliActor(), 'agent.revoke', id, { publicKeys: r.revoked });
    return r;
  });
  if (!accountJwt) throw new ConfigError(`agent ${id} has no active credential (soc agents credentials lists them)`);
  try {
    await withSystemNats(auth, natsTarget(), (sys) => pushAccountJwt(sys, accountJwt));
  } catch (err) {
    // Recorded and re-signed either way: a server started from the generated config loads it.
    process.stderr.write(`soc: agent ${id} is revoked, but the update could not be pushed to NATS (${errorMessage(err)}); it applies when nats-server next starts\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`agent ${id}: credential ${revoked.join(', ')} revoked; its connections were dropped\n`);
}

export async function credentials(o: { json?: boolean }): Promise<void> {
  const rows = await withDb((db) => listCredentials(db));
  for (const r of rows) {
    process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${r.agentId.padEnd(24)} ${r.publicKey}  issued ${r.issuedAt}${r.revokedAt ? `  REVOKED ${r.revokedAt}` : ''}${r.tags.length ? `  tags ${r.tags.join(',')}` : ''}\n`);
  }
}

/** `soc init`: the keys, credentials and server config a deployed MiniSOC uses (what `soc up` makes on first start). */
export async function init(o: { dir?: string; tls?: boolean; host?: string[] }): Promise<void> {
  const config = loadConfig({ ...process.env, ...(o.dir ? { DATA_DIR: o.dir } : {}) });
  const tls = o.tls ? createLocalTls(config.DATA_DIR, o.host?.length ? o.host : undefined) : undefined;
  const { auth, created } = await ensureNatsAuth(authDir(config), { tls: tls ? { certFile: tls.serverCert, keyFile: tls.serverKey, caFile: tls.ca } : undefined });
  const lines = [
    `${created ? 'created' : 'kept the existing'} NATS operator, accounts and keys in ${auth.dir} (mode 0600: keep them secret)`,
    `nats-server config: nats-server -c ${auth.serverConfig}   (or include ${auth.includeFile} in yours)`,
    `backend credentials: NATS_CREDS=${auth.backendCreds}`,
    `one credential per service for deploy/ (NATS_CREDS of each container): ${dirname(auth.serviceCreds.http)}/<service>.creds`,
    `deployed nats-servers include ${auth.accountsFile} (operator and accounts, no local paths)`,
  ];
  if (tls) {
    lines.push(`local CA ${tls.ca}; server certificate ${tls.serverCert} (key ${tls.serverKey}); client certificate ${tls.clientCert} (key ${tls.clientKey})`,
      `HTTPS: TLS_CERT_FILE=${tls.serverCert} TLS_KEY_FILE=${tls.serverKey}; NATS clients: NATS_TLS_CA=${tls.ca}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
