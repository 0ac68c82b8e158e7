// `soc events`: stored events, newest first, with filters, as a table or NDJSON.
import { sql } from 'kysely';
import { createDb } from '../../services/core/db/index.js';
import { ConfigError } from '../../services/core/errors.js';
import { databaseUrl } from './runtime.js';

export interface EventsOptions {
  since?: string;
  host?: string;
  category?: string;
  source?: string;
  limit: string;
  json?: boolean;
}

/** '15m', '2h', '7d', '30s' before now, or an ISO time. */
export function parseSince(value: string, nowMs = Date.now()): Date {
  const m = /^(\d+)(s|m|h|d)$/.exec(value);
  if (m) return new Date(nowMs - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's']);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ConfigError(`--since ${JSON.stringify(value)}: expected a duration such as 15m, 2h, 7d or an ISO time`);
  return new Date(t);
}

export async function events(o: EventsOptions): Promise<void> {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000_000) throw new ConfigError(`--limit ${JSON.stringify(o.limit)}: expected a whole number from 1 to 10000000`);
  const db = createDb(databaseUrl(), { max: 1 });
  try {
    let q = db.selectFrom('events').select(['id', 'ts', 'source_id', 'host_name', 'category', 'action', 'outcome', 'source_ip', 'user_name', 'message', 'doc']);
    if (o.since) q = q.where('ts', '>=', parseSince(o.since));
    if (o.host) q = q.where('host_name', '=', o.host.toLowerCase());
    if (o.source) q = q.where('source_id', '=', o.source);
    if (o.category) q = q.where(sql<boolean>`category @> ARRAY[${o.category}]::text[]`);
    const rows = await q.orderBy('ts', 'desc').orderBy('id', 'desc').limit(limit).execute();
    const out: string[] = [];
    for (const r of rows) {
      if (o.json) {
        out.push(JSON.stringify(r.doc));
      } else {
        const ts = new Date(r.ts).toISOString();
        out.push([ts, r.source_id, r.host_name ?? '-', (r.category ?? []).join(',') || '-', r.action ?? '-', r.outcome ?? '-', r.source_ip ?? '-', r.user_name ?? '-', (r.message ?? '').slice(0, 80)].join('  '));
      }
      if (out.length >= 1000) { process.stdout.write(out.join('\n') + '\n'); out.length = 0; }
    }
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    if (!o.json) process.stderr.write(`${rows.length} event(s)\n`);
  } finally {
    await db.destroy();
  }
}
