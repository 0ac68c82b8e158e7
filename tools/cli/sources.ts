// `soc sources add|revoke|list`: HTTP ingest sources, each bound to a format, with the API token a shipper posts with.
import type { Command } from 'commander';
import { ConfigError, ValidationError } from '../../services/core/errors.js';
import { addSource, listSources, revokeSource } from '../../services/ingest/sources.js';
import { cliActor, withDb } from './incidents.js';
import { audit } from '../../services/core/audit.js';
import { SOURCE_KINDS } from '../../services/core/source-kinds.js';

async function add(name: string, o: { format: string; kind?: string; rotate?: boolean }): Promise<void> {
  const token = await withDb(async (db) => {
    const t = await addSource(db, { name, format: o.format, kind: o.kind, createdBy: cliActor(), rotate: o.rotate }).catch((err: unknown) => {
      throw err instanceof ValidationError ? new ConfigError(err.message, { cause: err }) : err;
    });
    await audit(db, cliActor(), o.rotate ? 'source.rotate' : 'source.add', name, { format: o.format, kind: o.kind ?? '' });
    return t;
  });
  process.stdout.write(`${token}\n`);
  process.stderr.write(`ingest token for source ${name} (${o.format}${o.kind ? `, kind ${o.kind}` : ''}), shown once: POST /api/ingest?source=${name} with "Authorization: Bearer <token>"\n`);
}

async function revoke(name: string): Promise<void> {
  const done = await withDb(async (db) => {
    const ok = await revokeSource(db, name);
    if (ok) await audit(db, cliActor(), 'source.revoke', name, {});
    return ok;
  });
  if (!done) throw new ConfigError(`no active ingest source ${JSON.stringify(name)} (soc sources list)`);
  process.stdout.write(`source ${name}: token revoked\n`);
}

async function list(o: { json?: boolean }): Promise<void> {
  for (const s of await withDb((db) => listSources(db))) {
    process.stdout.write(o.json ? `${JSON.stringify(s)}\n`
      : `${s.name.padEnd(24)} ${s.format.padEnd(8)} ${(s.kind || '-').padEnd(10)} ${s.revokedAt ? `REVOKED ${s.revokedAt}` : `active, last used ${s.lastUsedAt ?? 'never'}`}  by ${s.createdBy}\n`);
  }
}

export function registerSourceCommands(program: Command): void {
  const sources = program.command('sources').description('HTTP ingest sources and their API tokens');
  sources.command('add')
    .description('create a source bound to a format and print its token (shown once)')
    .argument('<name>', 'source name: letters, digits, - and _')
    .requiredOption('--format <format>', 'what the source posts: json, ndjson, syslog, access, nginx, apache, cef, winxml, sysmon, windows, xml or auto')
    .option('--kind <kind>', `what the source is, so rules run only on their logsource: ${SOURCE_KINDS.join(', ')} (default: judged from each event)`)
    .option('--rotate', 'the source exists: give it a new token (the old one stops working)')
    .action(add);
  sources.command('revoke').description("revoke a source's token").argument('<name>', 'source name').action(revoke);
  sources.command('list').description('sources, their format and whether their token is active').option('--json', 'one JSON object per line').action(list);
}
