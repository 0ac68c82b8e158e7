// Limits and checks every parser applies to untrusted records, and the wrapper that keeps their errors ValidationErrors.
import { ValidationError, errorMessage } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { prototypeKeyIn, prototypeKeyReason } from '../../core/untrusted.js';
import type { ParseContext, Parser } from './types.js';

/** Largest single field (a message, a Data value, a quoted access-log field) a parser accepts, in characters. */
export const MAX_FIELD_CHARS = 64 * 1024;

/**
 * Makes a parser safe to call on anything: a ValidationError passes through, any other exception
 * (a bug the input exposed) becomes a ValidationError that keeps the original as `cause`, so the record
 * is dead-lettered with a reason instead of failing the whole batch.
 *
 * Parsing runs without stack traces: capturing one made up three quarters of the cost of refusing a record
 * (34 µs of 45), which a body of half a million bad records turns into seconds, and a refusal's stack says
 * nothing. A crash is a bug, so the parser (pure and deterministic) is run again with stacks to keep one.
 */
export function guarded(format: string, parse: (record: string, ctx: ParseContext) => Event[]): Parser {
  return (record, ctx) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return parse(record, ctx);
    } catch (err) {
      if (err instanceof ValidationError) throw err;
      Error.stackTraceLimit = limit;
      let crash = err;
      try {
        parse(record, ctx);
      } catch (again) {
        crash = again;
      }
      throw new ValidationError(`the ${format} parser failed on this record (${errorMessage(crash)}); please report it with the record`, { cause: crash });
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

/** Throws when a field is over MAX_FIELD_CHARS. */
export function checkFieldSize(field: string, value: string): void {
  if (value.length > MAX_FIELD_CHARS) {
    throw new ValidationError(`${field} is ${value.length} characters, over the limit of ${MAX_FIELD_CHARS} for a single field`);
  }
}

/** How a character is named in a reason: U+0007, so that invisible characters show. */
export function codePoint(s: string, i: number): string {
  return `U+${s.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}`;
}

// NUL is refused everywhere: no text log format carries it and PostgreSQL text columns cannot store it.
const NUL = /\0/;

/** Throws when the record holds a NUL character. */
export function rejectNul(record: string, what: string): void {
  if (!NUL.test(record)) return;
  const at = record.indexOf('\0');
  throw new ValidationError(`${what} contains a NUL character at offset ${at}; no text log format carries one (binary data or a broken sender?)`);
}

/** Removes one trailing line break (LF or CRLF) that framing left on a line-oriented record. */
export function stripLineEnd(record: string): string {
  const n = record.length;
  if (n > 0 && record.charCodeAt(n - 1) === 10) return n > 1 && record.charCodeAt(n - 2) === 13 ? record.slice(0, n - 2) : record.slice(0, n - 1);
  return record;
}

/** Throws when a key taken from the record names a prototype ("__proto__", "constructor", "prototype"), whole or as a dotted segment. */
export function checkKey(key: string, where: string): void {
  const bad = prototypeKeyIn(key);
  if (bad !== undefined) throw new ValidationError(prototypeKeyReason(bad, where));
}

/**
 * A name not yet in `out`: the key itself, else key2, key3... `next` remembers where each key's count
 * stands, so thousands of elements of one name cost linear time, not a search from 2 each.
 */
export function freeName(out: Record<string, string>, key: string, next: Map<string, number>): string {
  if (!Object.hasOwn(out, key)) return key;
  let dup = next.get(key) ?? 2;
  while (Object.hasOwn(out, `${key}${dup}`)) dup++;
  next.set(key, dup + 1);
  return `${key}${dup}`;
}

/** Null-prototype record: keys from the input such as "__proto__" stay plain data. */
export function dict<T = string>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A lookup table whose keys cannot be inherited ones: table["constructor"] is undefined, not Object. */
export function table<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}


/** The last path segment of a Windows or POSIX path. */
export function baseName(path: string): string {
  let i = path.length - 1;
  while (i >= 0) {
    const c = path.charCodeAt(i);
    if (c === 92 || c === 47) break;
    i--;
  }
  return i < 0 ? path : path.slice(i + 1);
}
