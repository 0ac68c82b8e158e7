// `soc incidents`, `soc alerts show|ack|close|reopen|filter` and `soc rules filters list|remove`: the API's incident and filter queries from the command line.
import { userInfo } from 'node:os';
import { readFileSync } from 'node:fs';
import { FILTERABLE_REASONS, deleteFilter, listSavedFilters, previewFilter, saveFilter, type FilterDeps } from '../../services/api/queries/filters.js';
import { alertHistory, bulkTriage, getAlert, listIncidents, triageAlert, CLOSE_REASONS, type BulkTriage, type CloseReason, type HistoryEntry, type Incident, type IncidentQuery } from '../../services/api/queries/incidents.js';
import { loadConfig } from '../../services/core/config.js';
import { createDb, type Db } from '../../services/core/db/index.js';
import { ConfigError } from '../../services/core/errors.js';
import { KV_BUCKETS } from '../../services/core/topology.js';
import { databaseUrl } from '../local/runtime.js';
import { withFilterStore } from './nats.js';
import { table, terminalSafe } from './output.js';

/** Who did it, in the audit log. */
export function cliActor(): string {
  return `cli:${userInfo().username}`;
}

export function parseLimit(v: string, max = 10_000): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(`--limit ${JSON.stringify(v)}: expected a whole number from 1 to ${max}`);
  return n;
}

/** Runs with a database from DATABASE_URL or a running `soc up`, and turns API errors into CLI errors. */
export async function withDb<T>(work: (db: Db) => Promise<T>): Promise<T> {
  const db = createDb(databaseUrl(), { max: 2 });
  try {
    return await work(db);
  } catch (err) {
    if (USER_FACING.has((err as Error).name)) throw new ConfigError((err as Error).message, { cause: err });
    throw err;
  } finally {
    await db.destroy();
  }
}

/** Errors the person at the terminal acts on (a 4xx of the API, the filter bucket unreachable or full): said in one line. */
const USER_FACING = new Set(['ApiError', 'TransientError', 'FilterBucketFullError']);

/** The database and the saved filters' bucket (NATS_URL or a running soc up), for the filter commands. */
function withFilters<T>(work: (db: Db, deps: FilterDeps) => Promise<T>): Promise<T> {
  const config = loadConfig();
  return withFilterStore((store) => withDb((db) => work(db, { config, store })));
}

export async function incidents(o: IncidentQuery & { limit: string; json?: boolean }): Promise<void> {
  const limit = parseLimit(o.limit);
  if (o.sort !== 'time' && o.sort !== 'score') throw new ConfigError(`--sort ${JSON.stringify(o.sort)}: expected time or score`);
  const { items } = await withDb((db) => listIncidents(db, o, { limit }));
  if (o.json) {
    if (items.length) process.stdout.write(items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  } else if (items.length) {
    // Whole ids: `soc alerts show|ack|close` take them as printed.
    process.stdout.write(table(['LAST SEEN', 'ID', 'LEVEL', 'STATUS', 'COUNT', 'HOST', 'RULE'],
      items.map((i) => [i.lastSeen, i.id, i.level, i.status, `x${i.count}`, i.hostName ?? '-', i.ruleTitle])));
  }
  if (!o.json) process.stderr.write(`${items.length} incident(s)\n`);
}

/** "T1110.001 Brute Force: Password Guessing, T1046 Network Service Discovery": ids with their ATT&CK names. */
function named(list: { id: string; name: string }[]): string {
  return list.map((x) => (x.name ? `${x.id} ${x.name}` : x.id)).join(', ');
}

/** One line of an alert's history: when, who, what changed, and the comment. */
export function historyLine(h: HistoryEntry): string {
  const state = (s: HistoryEntry['to']) => (s ? `${s.status}${s.closeReason ? ` (${s.closeReason})` : ''}${s.assignee ? ` @${s.assignee}` : ''}` : '?');
  const change = h.from && h.to && state(h.from) !== state(h.to) ? `${state(h.from)} -> ${state(h.to)}` : 'comment';
  return `  ${h.at}  ${h.actor}  ${change}${h.bulk ? ` (bulk of ${h.bulk})` : ''}${h.comment ? `: ${JSON.stringify(h.comment)}` : ''}`;
}

export async function alertsShow(id: string, o: { json?: boolean }): Promise<void> {
  const { a, history } = await withDb(async (db) => ({ a: await getAlert(db, id), history: await alertHistory(db, id) }));
  if (o.json) { process.stdout.write(JSON.stringify({ ...a, history }) + '\n'); return; }
  const x = a.alert;
  const lines = [
    `${x.id}  ${x.level}  ${x.status}${x.closeReason ? ` (${x.closeReason})` : ''}  score ${x.score}  x${x.count}`,
    `rule:      ${x.ruleTitle} (${x.ruleId})`,
    `seen:      ${x.firstSeen} .. ${x.lastSeen}`,
    `entities:  host ${x.hostName ?? '-'}  user ${x.userName ?? '-'}  ${x.sourceIp ?? '-'} -> ${x.destinationIp ?? '-'}`,
    `mitre:     ${named(x.mitre.techniques) || '-'}${x.mitre.tactics.length ? `  (${x.mitre.tactics.map((t) => t.name || t.id).join(', ')})` : ''}`,
    `assignee:  ${x.assignee ?? '-'}`,
    ...(x.description ? [`           ${x.description}`] : []),
    `history (${history.length}):`,
    ...history.map(historyLine),
    `events (${a.events.length}):`,
    ...a.events.map((e) => `  ${JSON.stringify(e)}`),
  ];
  process.stdout.write(lines.map(terminalSafe).join('\n') + '\n');
}

/** A bulk change, all or none; a refusal names every id refused and why, and changes nothing. */
async function bulk(db: Db, b: BulkTriage): Promise<Incident[]> {
  const r = await bulkTriage(db, b, cliActor());
  if (r.ok) return r.items;
  throw new ConfigError(terminalSafe(`nothing changed: ${r.refused.length} of ${b.ids.length} alert(s) refused\n${r.refused.map((x) => `  ${x.id}: ${x.reason}`).join('\n')}`));
}

export async function alertsAck(ids: string[], o: { assignee?: string; comment?: string }): Promise<void> {
  const items = await withDb((db) => bulk(db, { ids, action: 'ack', assignee: o.assignee, comment: o.comment }));
  process.stdout.write(items.map((a) => `${a.id} acknowledged${a.assignee ? `, assigned to ${a.assignee}` : ''}\n`).join(''));
}

export async function alertsAssign(ids: string[], o: { to: string; comment?: string }): Promise<void> {
  const items = await withDb((db) => bulk(db, { ids, action: 'assign', assignee: o.to, comment: o.comment }));
  process.stdout.write(items.map((a) => `${a.id} assigned to ${a.assignee}\n`).join(''));
}

export async function alertsReopen(id: string, o: { comment?: string }): Promise<void> {
  const a = await withDb((db) => triageAlert(db, id, { status: 'open', comment: o.comment }, cliActor()));
  process.stdout.write(`${a.id} reopened\n`);
}

function fieldList(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const list = v.split(',').map((f) => f.trim()).filter(Boolean);
  if (!list.length) throw new ConfigError('--fields: name at least one field, e.g. host.name,user.name');
  return list;
}

function savedLine(s: { file: string; matchesEvent: boolean | null }): string {
  const drops = s.matchesEvent === null ? 'not checked against the alert\'s event' : s.matchesEvent ? 'drops the alert\'s event' : 'does NOT drop the alert\'s event';
  return `filter saved to ${s.file} (${drops}); the detect service loads it within seconds\n`;
}

export async function alertsClose(ids: string[], o: { reason: string; comment?: string; filter?: boolean; fields?: string }): Promise<void> {
  if (!(CLOSE_REASONS as readonly string[]).includes(o.reason)) throw new ConfigError(`--reason ${JSON.stringify(o.reason)}: expected one of ${CLOSE_REASONS.join(', ')}`);
  if (o.fields !== undefined && !o.filter) throw new ConfigError('--fields goes with --filter');
  if (o.filter && !(FILTERABLE_REASONS as readonly string[]).includes(o.reason)) throw new ConfigError(`--filter goes with --reason ${FILTERABLE_REASONS.join(' or ')}`);
  // A filter is made from one alert's event: several alerts would each propose their own.
  if (o.filter && ids.length !== 1) throw new ConfigError(`--filter saves the filter of one alert; ${ids.length} were given`);
  const fields = fieldList(o.fields);
  const close = async (db: Db) => {
    const items = await bulk(db, { ids, action: 'close', closeReason: o.reason as CloseReason, comment: o.comment });
    process.stdout.write(items.map((a) => `${a.id} closed (${a.closeReason})\n`).join(''));
  };
  if (!o.filter) { await withDb(close); return; }
  const id = ids[0]!;
  // The bucket is opened before the alert is closed: without NATS, nothing changes.
  await withFilters(async (db, deps) => {
    await close(db);
    const p = await previewFilter(db, deps, id, cliActor(), fields);
    process.stdout.write(savedLine(await saveFilter(db, deps, id, p.yaml, cliActor(), o.comment)));
  });
}

/** Prints the proposed filter of an alert, or saves it (--save) or an edited version of it (--from). */
export async function alertsFilter(id: string, o: { fields?: string; save?: boolean; from?: string; comment?: string }): Promise<void> {
  if (o.save && o.from) throw new ConfigError('--save saves the proposal, --from a file: give one of them');
  if (o.from && o.fields) throw new ConfigError('--fields shapes the proposal; with --from the file says what is filtered');
  const fields = fieldList(o.fields);
  let text: string | undefined;
  if (o.from) {
    try { text = readFileSync(o.from, 'utf8'); } catch (err) { throw new ConfigError(`--from ${o.from}: ${(err as Error).message}`, { cause: err }); }
  }
  await withFilters(async (db, deps) => {
    if (text !== undefined) { process.stdout.write(savedLine(await saveFilter(db, deps, id, text, cliActor(), o.comment))); return; }
    const p = await previewFilter(db, deps, id, cliActor(), fields);
    if (o.save) { process.stdout.write(savedLine(await saveFilter(db, deps, id, p.yaml, cliActor(), o.comment))); return; }
    process.stdout.write(p.yaml);
    process.stderr.write(`fields on offer (--fields): ${p.candidates.map((c) => `${c.selected ? '*' : ''}${c.field}=${JSON.stringify(c.value)}`).join('  ')}\n`
      + `${p.matchesEvent ? 'drops the alert\'s event' : 'does not drop the alert\'s event as stored'}; saving stores it as ${p.file}${p.exists ? ' (a filter for this alert exists already)' : ''}\n`);
  });
}

/** The filters saved from false positives (KV RULE_FILTERS): alert, filter title, the rules it names; one that detect skips says why. */
export async function rulesFiltersList(o: { json?: boolean }): Promise<void> {
  const { items } = await withFilterStore((store) => listSavedFilters({ store }));
  if (o.json) {
    if (items.length) process.stdout.write(items.map((i) => JSON.stringify(i)).join('\n') + '\n');
  } else if (items.length) {
    process.stdout.write(table(['SAVED', 'ALERT', 'RULES', 'TITLE'], items.map((i) => [
      i.savedAt, i.alertId ?? `(key ${i.key})`, i.rules.join(',') || '-', i.error ? `NOT LOADED: ${i.error.split('\n')[0]}` : i.title ?? '-',
    ])));
  }
  const skipped = items.filter((i) => i.error).length;
  if (!o.json) process.stderr.write(`${items.length} saved filter(s) in the KV bucket ${KV_BUCKETS.RULE_FILTERS}${skipped ? `, ${skipped} not loaded by detect` : ''}\n`);
}

/** Lifts the filter saved for an alert (audited as cli:<user>); the detect service reloads without it. */
export async function rulesFiltersRemove(alertId: string, o: { comment?: string }): Promise<void> {
  const r = await withFilters((db, deps) => deleteFilter(db, deps, alertId, cliActor(), o.comment));
  process.stdout.write(`filter ${r.file}${r.title ? ` (${r.title})` : ''} removed; the detect service reloads within seconds\n`);
}
