// `soc events`: stored events, newest first, with the API's filters, as a table or NDJSON.
import { createDb } from '../../services/core/db/index.js';
import { ConfigError } from '../../services/core/errors.js';
import { ApiError } from '../../services/core/http.js';
import { eventFilter, filteredEvents } from '../../services/api/queries/events.js';
import { databaseUrl } from '../local/runtime.js';
import { table } from './output.js';

export interface EventsOptions {
  since?: string;
  host?: string;
  category?: string;
  source?: string;
  limit: string;
  json?: boolean;
}

export async function events(o: EventsOptions): Promise<void> {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000_000) throw new ConfigError(`--limit ${JSON.stringify(o.limit)}: expected a whole number from 1 to 10000000`);
  let filter;
  try {
    filter = eventFilter({ since: o.since, host: o.host, source: o.source, category: o.category });
  } catch (err) {
    // The API's 400 reasons name the parameter; on the command line it is the option of the same name.
    if (err instanceof ApiError) throw new ConfigError(`--${err.message}`, { cause: err });
    throw err;
  }
  const db = createDb(databaseUrl(), { max: 1 });
  try {
    const rows = await filteredEvents(db, filter)
      .select(['id', 'ts', 'source_id', 'host_name', 'category', 'action', 'outcome', 'source_ip', 'user_name', 'message', 'doc'])
      .orderBy('ts', 'desc').orderBy('id', 'desc').limit(limit).execute();
    if (o.json) {
      const out: string[] = [];
      for (const r of rows) {
        out.push(JSON.stringify(r.doc));
        if (out.length >= 1000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
      }
      if (out.length) process.stdout.write(out.join('\n') + '\n');
    } else if (rows.length) {
      process.stdout.write(table(['TIME', 'SOURCE', 'HOST', 'CATEGORY', 'ACTION', 'OUTCOME', 'SOURCE IP', 'USER', 'MESSAGE'], rows.map((r) => [
        new Date(r.ts).toISOString(), r.source_id, r.host_name ?? '-', (r.category ?? []).join(',') || '-', r.action ?? '-', r.outcome ?? '-',
        r.source_ip ?? '-', r.user_name ?? '-', (r.message ?? '').slice(0, 80),
      ])));
    }
    if (!o.json) process.stderr.write(`${rows.length} event(s)\n`);
  } finally {
    await db.destroy();
  }
}
