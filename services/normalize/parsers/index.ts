// The parsers of the normalize stage, by declared format, and the guess for records that declare none.
import { parseAccess } from './access.js';
import { parseCef } from './cef.js';
import { parseJson } from './json.js';
import { parseSyslog } from './syslog.js';
import type { Parser } from './types.js';
import { parseWinXml } from './winxml.js';

export const PARSERS: Record<string, Parser> = {
  json: parseJson,
  ndjson: parseJson,
  syslog: parseSyslog,
  access: parseAccess,
  nginx: parseAccess,
  apache: parseAccess,
  winxml: parseWinXml,
  xml: parseWinXml,
  sysmon: parseWinXml,
  windows: parseWinXml,
  cef: parseCef,
};

// Only the start of a record is looked at, so detection stays cheap on every record of a batch.
const XML_START = /^(?:\uFEFF)?\s*<(?:\?xml|!--|Events?[\s>/])/;
const SYSLOG_PRI = /^<\d{1,3}>/;
const BSD_TIME = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;
const ACCESS = /^\S+ \S+ (?:\S+|"[^"]*") \[\d{1,2}\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "/;
const CEF_AFTER_HEADER = /(?:^|\s)CEF:\d{1,3}\|/;

/** Picks a parser for a record whose source declared no format. */
export function detectFormat(record: string): string {
  const head = record.length > 512 ? record.slice(0, 512) : record;
  const c = head.trimStart()[0];
  if (c === '{') return 'json';
  if (head.startsWith('CEF:')) return 'cef';
  if (c === '<' || head.charCodeAt(0) === 0xfeff) {
    if (XML_START.test(head)) return 'winxml';
    if (SYSLOG_PRI.test(head)) return CEF_AFTER_HEADER.test(head) ? 'cef' : 'syslog';
    return 'unknown';
  }
  if (BSD_TIME.test(head) || ISO_TIME.test(head)) return CEF_AFTER_HEADER.test(head) ? 'cef' : 'syslog';
  if (ACCESS.test(head)) return 'access';
  return 'unknown';
}
