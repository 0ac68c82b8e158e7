// `soc sources add|revoke|list`: HTTP ingest sources, each bound to a format, with the API token a shipper posts with.
import { ConfigError, ValidationError } from '../../services/core/errors.js';
import { addSource, listSources, revokeSource } from '../../services/ingest/sources.js';
import { cliActor, withDb } from './incidents.js';
import { audit } from '../../services/core/audit.js';

export async function add(name: string, o: { format: string; kind?: string; host?: string; rotate?: boolean }): Promise<void> {
  const token = await withDb(async (db) => {
    const t = await addSource(db, { name, format: o.format, kind: o.kind, host: o.host, createdBy: cliActor(), rotate: o.rotate }).catch((err: unknown) => {
      throw err instanceof ValidationError ? new ConfigError(err.message, { cause: err }) : err;
    });
    await audit(db, cliActor(), o.rotate ? 'source.rotate' : 'source.add', name, { format: o.format, kind: o.kind ?? '', host: o.host ?? '' });
    return t;
  });
  process.stdout.write(`${token}\n`);
  process.stderr.write(`ingest token for source ${name} (${o.format}${o.kind ? `, kind ${o.kind}` : ''}${o.host ? `, host ${o.host}` : ''}), shown once: POST /api/ingest?source=${name} with "Authorization: Bearer <token>"\n`);
}

export async function revoke(name: string): Promise<void> {
  const done = await withDb(async (db) => {
    const ok = await revokeSource(db, name);
    if (ok) await audit(db, cliActor(), 'source.revoke', name, {});
    return ok;
  });
  if (!done) throw new ConfigError(`no active ingest source ${JSON.stringify(name)} (soc sources list)`);
  process.stdout.write(`source ${name}: token revoked\n`);
}

export async function list(o: { json?: boolean }): Promise<void> {
  for (const s of await withDb((db) => listSources(db))) {
    process.stdout.write(o.json ? `${JSON.stringify(s)}\n`
      : `${s.name.padEnd(24)} ${s.format.padEnd(8)} ${(s.kind || '-').padEnd(10)} ${(s.host || '-').padEnd(16)} ${s.revokedAt ? `REVOKED ${s.revokedAt}` : `active, last used ${s.lastUsedAt ?? 'never'}`}  by ${s.createdBy}\n`);
  }
}
