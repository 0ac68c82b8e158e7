// The ingest tokens the simulator posts with, kept in DATA_DIR so `soc up --demo` and `soc simulate` share them.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../services/core/db/index.js';
import { ConfigError, ValidationError } from '../../services/core/errors.js';
import { addSource, sourceForToken } from '../../services/ingest/sources.js';
import { SOURCES, type SourceId } from './formats.js';

/** Where the simulator's source tokens are kept (0600), shared by `soc up --demo` and `soc simulate`. */
export function simulatorTokensFile(dataDir: string): string {
  return join(dataDir, 'demo', 'source-tokens.json');
}

function savedTokens(file: string): Partial<Record<SourceId, string>> {
  if (!existsSync(file)) return {};
  try { return JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<SourceId, string>>; } catch { return {}; }
}

/**
 * A token for each ingest source the simulator posts as (`soc up --demo` and `soc simulate` alike): the one kept
 * in DATA_DIR when it still works, else a new one (kept for the next caller, so a demo running beside `soc
 * simulate` keeps its tokens). A source of that name made by someone else is left alone, and the caller stops.
 */
export async function simulatorSourceTokens(db: Db, dataDir: string): Promise<Partial<Record<SourceId, string>>> {
  const file = simulatorTokensFile(dataDir);
  const kept = savedTokens(file);
  const tokens: Partial<Record<SourceId, string>> = {};
  let changed = false;
  for (const [name, format] of Object.entries(SOURCES) as [SourceId, string][]) {
    const token = kept[name];
    if (token && (await sourceForToken(db, token))?.name === name) { tokens[name] = token; continue; }
    const existing = await db.selectFrom('ingest_sources').select(['created_by', 'revoked_at']).where('name', '=', name).executeTakeFirst();
    if (existing && existing.created_by !== 'demo' && !existing.revoked_at) {
      throw new ConfigError(`the simulator posts as ingest source ${name}, which ${existing.created_by} created: revoke it (soc sources revoke ${name}) or use another DATA_DIR`);
    }
    try {
      tokens[name] = await addSource(db, { name, format, createdBy: 'demo', rotate: true });
      changed = true;
    } catch (err) {
      throw err instanceof ValidationError ? new ConfigError(`simulator sources: ${err.message}`, { cause: err }) : err;
    }
  }
  if (changed) {
    mkdirSync(join(dataDir, 'demo'), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, `${JSON.stringify(tokens)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
  return tokens;
}

