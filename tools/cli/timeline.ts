// `soc timeline <kind>:<value>`: one entity's events and alerts across sources, newest first, on the API's own query.
import { ConfigError } from '../../services/core/errors.js';
import { TIMELINE_MAX_LIMIT, timeline, type Timeline, type TimelineItem } from '../../services/api/queries/timeline.js';
import { parseLimit, withDb } from './incidents.js';
import { table } from './output.js';

export interface TimelineOptions {
  since?: string;
  until?: string;
  limit: string;
  top: string;
  json?: boolean;
}

/** At most this many items: the command pages through the API's query (TIMELINE_MAX_LIMIT per page) up to it. */
const CLI_MAX_ITEMS = 100_000;

function line(i: TimelineItem): string[] {
  const ips = i.sourceIp || i.destinationIp ? `${i.sourceIp ?? '-'} -> ${i.destinationIp ?? '-'}` : '-';
  return [i.time, i.type, i.source ?? '-', i.role, i.hostName ?? '-', i.userName ?? '-', ips, i.type === 'alert' && i.count > 1 ? `${i.summary} x${i.count}` : i.summary];
}

export async function timelineCommand(entity: string, o: TimelineOptions): Promise<void> {
  const want = parseLimit(o.limit, CLI_MAX_ITEMS);
  const top = Number(o.top);
  if (!Number.isInteger(top) || top < 1 || top > 20) throw new ConfigError(`--top ${JSON.stringify(o.top)}: expected a whole number from 1 to 20`);
  const items: TimelineItem[] = [];
  let first: Timeline | undefined;
  await withDb(async (db) => {
    // The window is pinned after the first page, so a relative --since (or now) does not move while the pages are read.
    let cursor: string | undefined;
    do {
      const window = first ? { since: first.since, until: first.until } : { since: o.since, until: o.until };
      const page = await timeline(db, { entity, ...window }, { limit: Math.min(TIMELINE_MAX_LIMIT, want - items.length), cursor, top });
      if (!first) first = page;
      items.push(...page.items);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && items.length < want);
  });
  const t = first!;
  const neighbours = t.neighbours?.items ?? [];
  if (o.json) {
    const out = [...items.map((i) => JSON.stringify(i)), ...neighbours.map((n) => JSON.stringify({ type: 'neighbour', ...n }))];
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    return;
  }
  if (items.length) process.stdout.write(table(['TIME', 'TYPE', 'SOURCE', 'ROLE', 'HOST', 'USER', 'SOURCE -> DESTINATION', 'SUMMARY'], items.map(line)));
  const kinds = [...new Set(neighbours.map((n) => n.kind))];
  const seen = kinds.map((k) => `  ${k}: ${neighbours.filter((n) => n.kind === k).map((n) => `${n.value} (${n.count})`).join(', ')}`);
  process.stderr.write(`${items.length} item(s) for ${t.entity.kind}:${t.entity.value} from ${t.since} to ${t.until}\n`
    + (seen.length ? `seen with it${t.neighbours?.complete ? '' : ` (in its newest ${t.neighbours?.events} events and ${t.neighbours?.alerts} alerts)`}:\n${seen.join('\n')}\n` : ''));
}
