// The ingest core: a request body to raw records and records to bounded batches, without I/O.
import { ValidationError } from '../core/errors.js';
import { MAX_JSON_DEPTH } from '../core/untrusted.js';

/** Formats a source may declare; `auto` lets normalize recognise each record. */
export const BODY_FORMATS = ['auto', 'json', 'ndjson', 'syslog', 'access', 'nginx', 'apache', 'cef', 'winxml', 'xml', 'sysmon', 'windows'] as const;
export type BodyFormat = (typeof BODY_FORMATS)[number];

const XML_FORMATS = new Set<string>(['winxml', 'xml', 'sysmon', 'windows']);

/** A record or a body the stream cannot carry: answered 413 (the error handler reads statusCode). */
export class RecordTooLargeError extends ValidationError {
  readonly statusCode = 413;
}

// JavaScript's \s, as the patterns this scanner replaced matched it.
function isJsSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** Index of the first character at or after `from` that is not whitespace, or -1. */
function firstText(body: string, from = 0): number {
  for (let i = from; i < body.length; i++) if (!isJsSpace(body.charCodeAt(i))) return i;
  return -1;
}

/** How a body of a format is cut into records: JSON values, lines, or XML <Event> elements. */
export function bodyKind(format: BodyFormat, body: string): 'json' | 'ndjson' | 'lines' | 'xml' {
  if (format === 'json' || format === 'ndjson') return format;
  if (XML_FORMATS.has(format)) return 'xml';
  if (format !== 'auto') return 'lines';
  // The first non-blank character, found without copying a body that may be megabytes long.
  const at = firstText(body);
  const c = at < 0 ? undefined : body[at];
  if (c === '{' || c === '[') return 'json';
  if (c === '<' && (body.startsWith('<?xml', at) || ((body.startsWith('<Event', at)) && isEventsTagEnd(body, at + 6)))) return 'xml';
  return 'lines';
}

// After "<Event": "s" and a space or ">", or a space or ">" (what /<Events?[\s>]/ took).
function isEventsTagEnd(body: string, i: number): boolean {
  if (body.charCodeAt(i) === 115 /* s */) i++;
  const c = body.charCodeAt(i);
  return c === 62 || isJsSpace(c);
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

/**
 * The line on which JSON nests deeper than `maxDepth`, or 0. Checked before JSON.parse: parsing a body
 * nested millions deep costs seconds (1.4 µs a level here), and normalize refuses such records anyway.
 * With `perLine` (NDJSON) each line starts at depth 0.
 */
function tooDeep(body: string, maxDepth: number, perLine: boolean): number {
  let depth = 0;
  let line = 1;
  for (let i = 0, n = body.length; i < n; i++) {
    const c = body.charCodeAt(i);
    if (c === 34 /* " */) {
      // To the closing quote; a line break ends a (then invalid) string too, so lines stay counted.
      for (i++; i < n; i++) {
        const d = body.charCodeAt(i);
        if (d === 92) i++;
        else if (d === 34) break;
        else if (d === 10) { i--; break; }
      }
    } else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return line;
    } else if (c === 93 || c === 125) {
      if (depth > 0) depth--;
    } else if (c === 10) {
      line++;
      if (perLine) depth = 0;
    }
  }
  return 0;
}

function refuseDeep(body: string, maxDepth: number, perLine: boolean): void {
  const line = tooDeep(body, maxDepth, perLine);
  if (line) throw new ValidationError(`line ${line}: JSON nests deeper than ${MAX_JSON_DEPTH} levels, the most a record may have`);
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
 * The elements of a JSON array body as the client wrote them, cut at the commas of the top level. The
 * body has parsed, so only strings and nesting need tracking. Slicing instead of re-serializing each
 * element keeps the record as sent, costs one pass, and cannot overflow the stack on deep nesting.
 */
function arrayElements(body: string): string[] {
  const out: string[] = [];
  let i = body.indexOf('[') + 1;
  let start = i;
  let depth = 0;
  for (const n = body.length; i < n; i++) {
    const c = body.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; body.charCodeAt(i) !== 34; i++) if (body.charCodeAt(i) === 92) i++;
    } else if (c === 91 || c === 123) {
      depth++;
    } else if (c === 93 || c === 125) {
      if (depth === 0) { out.push(body.slice(start, i).trim()); break; }
      depth--;
    } else if (c === 44 && depth === 0) {
      out.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  return out;
}

/**
 * The <Event> elements of a body, as /<Event[\s>][\s\S]*?<\/Event\s*>/g found them, and the text between
 * them. A scanner: that pattern took quadratic time on thousands of unclosed <Event> tags (31 s for 1 MB).
 * Each search moves forward, and once no end tag follows a start tag none follows a later one either.
 */
export function eventElements(body: string): { events: string[]; gaps: [number, number][] } {
  const events: string[] = [];
  const gaps: [number, number][] = [];
  let pos = 0;
  let gapStart = 0;
  for (;;) {
    let start = body.indexOf('<Event', pos);
    while (start >= 0 && !(body.charCodeAt(start + 6) === 62 || isJsSpace(body.charCodeAt(start + 6)))) start = body.indexOf('<Event', start + 1);
    if (start < 0) break;
    let close = body.indexOf('</Event', start + 7);
    let end = -1;
    while (close >= 0) {
      let k = close + 7;
      while (k < body.length && isJsSpace(body.charCodeAt(k))) k++;
      if (body.charCodeAt(k) === 62) { end = k + 1; break; }
      close = body.indexOf('</Event', close + 1);
    }
    if (end < 0) break;
    gaps.push([gapStart, start]);
    events.push(body.slice(start, end));
    pos = gapStart = end;
  }
  gaps.push([gapStart, body.length]);
  return { events, gaps };
}

/**
 * The first character of a gap between events that is not the XML declaration, an <Events> tag, a
 * comment, a byte order mark or space, or -1: anything else (a truncated last event, say) would be lost.
 */
function strayIn(body: string, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const c = body.charCodeAt(i);
    if (isJsSpace(c)) { i++; continue; }
    if (c !== 60 /* < */) return i;
    if (body.startsWith('<?xml', i)) {
      const gt = body.indexOf('>', i + 5);
      if (gt < 0 || gt >= to || body.charCodeAt(gt - 1) !== 63 /* ? */ || gt - 1 < i + 5) return i;
      i = gt + 1;
    } else if (body.startsWith('<!--', i)) {
      const end = body.indexOf('-->', i + 4);
      if (end < 0 || end + 3 > to) return i;
      i = end + 3;
    } else if (body.startsWith('<Events', i) || body.startsWith('</Events', i)) {
      let k = i + (body.charCodeAt(i + 1) === 47 ? 8 : 7);
      while (k < to && isJsSpace(body.charCodeAt(k))) k++;
      if (k >= to || body.charCodeAt(k) !== 62) return i;
      i = k + 1;
    } else {
      return i;
    }
  }
  return -1;
}

/** True when the body holds a line break followed by more text (NDJSON sent as application/json). */
function hasLaterLine(body: string): boolean {
  const nl = body.indexOf('\n');
  return nl >= 0 && firstText(body, nl + 1) >= 0;
}

/**
 * Splits a body into records: one per JSON value (a JSON object, a JSON array of values, or NDJSON with
 * one value per line), per line of a log format, or per <Event> element of Windows event XML. Malformed
 * input is refused whole, with the line or position of the fault, so a client never has to guess which
 * part of its request was taken. Every step is a single forward pass: bodies are attacker-controlled.
 */
export function splitRecords(body: string, format: BodyFormat, kind = bodyKind(format, body)): string[] {
  if (firstText(body) < 0) throw new ValidationError('empty body: send a JSON object, a JSON array, NDJSON or log lines');
  if (kind === 'lines') return body.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)).filter((l) => firstText(l) >= 0);
  if (kind === 'xml') {
    const { events, gaps } = eventElements(body);
    if (events.length === 0) throw new ValidationError('no <Event> element found: send Windows event XML as exported by Event Viewer or wevtutil');
    for (const [from, to] of gaps) {
      const stray = strayIn(body, from, to);
      if (stray >= 0) throw new ValidationError(`unexpected content outside <Event> elements: ${JSON.stringify(body.slice(stray, Math.min(to, stray + 60)))}`);
    }
    return events;
  }
  if (kind === 'ndjson') {
    refuseDeep(body, MAX_JSON_DEPTH, true);
    return splitLines(body);
  }
  // A body array adds one level above its records.
  refuseDeep(body, body.charCodeAt(firstText(body)) === 91 ? MAX_JSON_DEPTH + 1 : MAX_JSON_DEPTH, false);
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    // A JSON body that is really NDJSON is common enough to accept.
    if (hasLaterLine(body)) return splitLines(body);
    throw new ValidationError(`invalid JSON: ${parseError(err)}`);
  }
  if (Array.isArray(doc)) {
    if (doc.length === 0) throw new ValidationError('empty array: nothing to ingest');
    return arrayElements(body);
  }
  return [body.trim()];
}

/**
 * Groups records into batches of at most `maxRecords` records and about `maxBytes` bytes. A record over
 * `maxBytes` on its own can never be published (NATS refuses a message over max_payload, and a 503 would
 * have the client retry it for ever), so the whole request is refused with a RecordTooLargeError (413).
 */
export function chunk(records: string[], maxRecords: number, maxBytes: number): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const size = r.length * 3 > maxBytes ? Buffer.byteLength(r) : r.length;
    if (size > maxBytes) {
      throw new RecordTooLargeError(`record ${i + 1} is ${size} bytes, over the ${Math.floor(maxBytes)} bytes one event stream message carries: split it, or send it as several records`);
    }
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
