// The parsers of the normalize stage, by declared format.
import type { Parser } from './types.js';
import { parseJson } from './json.js';

export const PARSERS: Record<string, Parser> = {
  json: parseJson,
  ndjson: parseJson,
};

/** Picks a parser for a record whose source declared no format. */
export function detectFormat(record: string): string {
  const c = record.trimStart()[0];
  if (c === '{') return 'json';
  return 'unknown';
}
