// The ingest core: a request body to raw records and records to bounded batches, without I/O.
import { ValidationError } from '../core/errors.js';

/** Formats a source may declare; `auto` lets normalize recognise each record. */
export const BODY_FORMATS = ['auto', 'json', 'ndjson', 'syslog', 'access', 'nginx', 'apache', 'cef', 'winxml', 'xml', 'sysmon', 'windows'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

const XML_FORMATS = new Set<string>(['winxml', 'xml', 'sysmon', 'windows']);
const EVENT_ELEMENT = /<Event[\s>][\s\S]*?<\/Event\s*>/g;

/** How a body of a format is cut into records: JSON values, lines, or XML <Event> elements. */
export function bodyKind(format: BodyFormat, body: string): 'json' | 'ndjson' | 'lines' | 'xml' {
  if (format === 'json' || format === 'ndjson') return format;
  if (XML_FORMATS.has(format)) return 'xml';
  if (format !== 'auto') return 'lines';
  // The first non-blank character, found without copying a body that may be megabytes long.
  const c = body[/\S/.exec(body)?.index ?? 0];
  if (c === '{' || c === '[') return 'json';
  if (c === '<' && /^\s*(?:\uFEFF)?<(?:\?xml|Events?[\s>])/.test(body)) return 'xml';
  return 'lines';
}

/** The format name carried in RawBatch: '' asks normalize to recognise each record. */
export function declaredFormat(format: BodyFormat, kind: ReturnType<typeof bodyKind>): string {
  if (kind === 'json' || kind === 'ndjson') return 'json';
  if (format === 'auto') return kind === 'xml' ? 'winxml' : '';
  return format;
}

function parseError(err: unknown): string {
  return (err as Error).message.replace(/^JSON\.parse: /, '');
}

function splitLines(body: string): string[] {
  const records: string[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      JSON.parse(line);
    } catch (err) {
      throw new ValidationError(`line ${i + 1}: invalid JSON: ${parseError(err)}`);
    }
    records.push(line);
  }
  return records;
}

/**
 * Splits a body into one record per JSON value: a JSON object, a JSON array of values, or NDJSON
 * (one value per line). Malformed input is refused whole, with the line or position of the fault,
 * so a client never has to guess which part of its request was taken.
 */
export function splitRecords(body: string, format: BodyFormat, kind = bodyKind(format, body)): string[] {
  if (!/\S/.test(body)) throw new ValidationError('empty body: send a JSON object, a JSON array, NDJSON or log lines');
  if (kind === 'lines') return body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => l.trim() !== '');
  if (kind === 'xml') {
    const events = body.match(EVENT_ELEMENT);
    if (!events) throw new ValidationError('no <Event> element found: send Windows event XML as exported by Event Viewer or wevtutil');
    // Anything but the declaration, the <Events> wrapper, comments and space between the events (a
    // truncated last event, say) would otherwise be dropped without a word.
    const rest = body.replace(EVENT_ELEMENT, '').replace(/<\?xml[^>]*\?>|<\/?Events\s*>|<!--[\s\S]*?-->|\uFEFF/g, '');
    const stray = /\S/.exec(rest);
    if (stray) throw new ValidationError(`unexpected content outside <Event> elements: ${JSON.stringify(rest.slice(stray.index, stray.index + 60))}`);
    return events;
  }
  if (kind === 'ndjson') return splitLines(body);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    // A JSON body that is really NDJSON is common enough to accept.
    if (/\n\s*\S/.test(body)) return splitLines(body);
    throw new ValidationError(`invalid JSON: ${parseError(err)}`);
  }
  if (Array.isArray(doc)) {
    if (doc.length === 0) throw new ValidationError('empty array: nothing to ingest');
    return doc.map((v) => JSON.stringify(v));
  }
  return [body.trim()];
}

/** Groups records into batches of at most `maxRecords` records and about `maxBytes` bytes. */
export function chunk(records: string[], maxRecords: number, maxBytes: number): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = r.length * 3 > maxBytes ? Buffer.byteLength(r) : r.length;
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size + 4;
  }
  if (current.length) batches.push(current);
  return batches;
}
