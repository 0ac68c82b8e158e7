// `soc parse`: normalizes log files offline and prints the events as NDJSON (to check a source before connecting it).
import { readFileSync } from 'node:fs';
import { toEcs } from '../../services/core/ecs.js';
import { ConfigError, errorMessage } from '../../services/core/errors.js';
import { BODY_FORMATS, bodyKind, declaredFormat, splitRecords, type BodyFormat } from '../../services/ingest/core.js';
import { normalizeRaw } from '../../services/normalize/core.js';
import type { Event } from '../../services/core/proto.js';

export interface ParsedFile {
  file: string;
  events: { event: Event; record: number; line: number }[];
  rejects: { record: number; line: number; error: string }[];
}

/** Cuts a file into records the way ingest cuts a body, remembering the line each record starts on. */
export function parseFile(file: string, format: BodyFormat = 'auto', sourceId = 'file', sourceKind = ''): ParsedFile {
  let body: string;
  try {
    body = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${errorMessage(err)}`, { cause: err });
  }
  const kind = bodyKind(format, body);
  let records: string[];
  try {
    records = splitRecords(body, format, kind);
  } catch (err) {
    return { file, events: [], rejects: [{ record: -1, line: 1, error: errorMessage(err) }] };
  }
  // The line each record starts on, found by searching forward for it in the file.
  const lines: number[] = [];
  let pos = 0;
  let line = 1;
  for (const r of records) {
    // Records re-serialised from a JSON array are not in the file as such: they keep the array's line.
    const probe = r.slice(0, 40);
    const at = body.indexOf(probe, pos);
    if (at >= 0) {
      for (let i = pos; i < at; i++) if (body.charCodeAt(i) === 10) line++;
      pos = at + 1;
    }
    lines.push(line);
  }
  const result = normalizeRaw({ source_id: sourceId, format: declaredFormat(format, kind), received_ms: Date.now(), records, source_kind: sourceKind }, { idPrefix: 'f', nowMs: Date.now() });
  const recordOf = (id: string) => Number(id.split('.')[1]);
  return {
    file,
    events: result.events.map((event) => ({ event, record: recordOf(event.id!), line: lines[recordOf(event.id!)] ?? 0 })),
    rejects: result.rejects.map((r) => ({ record: r.index, line: lines[r.index] ?? 0, error: r.error })),
  };
}

export async function parse(files: string[], o: { format?: string; source?: string }): Promise<void> {
  const format = (o.format ?? 'auto') as BodyFormat;
  if (!BODY_FORMATS.includes(format)) throw new ConfigError(`--format ${JSON.stringify(o.format)}: expected one of ${BODY_FORMATS.join(', ')}`);
  let events = 0;
  let rejected = 0;
  for (const file of files) {
    const parsed = parseFile(file, format, o.source ?? 'file');
    const out = parsed.events.map((e) => JSON.stringify(toEcs(e.event)));
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    for (const r of parsed.rejects) process.stderr.write(`${file}:${r.line}: ${r.error}\n`);
    events += parsed.events.length;
    rejected += parsed.rejects.length;
  }
  process.stderr.write(`${events} event(s), ${rejected} rejected record(s)\n`);
  if (rejected) process.exitCode = 1;
}
