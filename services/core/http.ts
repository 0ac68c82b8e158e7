// What every API route shares: the error shape, 4xx errors thrown from queries, cursors, list envelopes.
import { STATUS_CODES } from 'node:http';
import type { FastifyReply } from 'fastify';
import { Type, type TSchema } from 'typebox';
import { durationMs } from './time.js';

export const errorSchema = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String() });

/** Errors every authenticated route may answer. */
export const authErrors = { 400: errorSchema, 401: errorSchema, 403: errorSchema };

/** A failure the caller can fix: its status and message reach the client as they are. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly statusCode: number, message: string) { super(message); }
}

export function errorBody(status: number, message: string): { statusCode: number; error: string; message: string } {
  return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
}

export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send(errorBody(status, message));
}

/** A listing: one page of items and the cursor of the next page (null on the last one). */
export function page<T extends TSchema>(item: T, extra: Record<string, TSchema> = {}) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]), ...extra });
}

/** Opaque keyset cursors: the sort key of the last row of a page. */
export function encodeCursor(key: (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string, shape: ('string' | 'number')[]): (string | number)[] {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== shape.length || key.some((v, i) => typeof v !== shape[i])) {
    throw new ApiError(400, 'cursor: not a cursor of this listing (pass nextCursor from the previous page unchanged)');
  }
  return key as (string | number)[];
}

/** '15m', '2h', '7d', '30s' before now, or an ISO time; `what` names the parameter in the error. */
export function parseTime(what: string, value: string, nowMs = Date.now()): Date {
  const d = durationMs(value);
  if (d !== undefined) return new Date(nowMs - d);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new ApiError(400, `${what} ${JSON.stringify(value)}: expected an ISO time or a duration before now such as 15m, 2h, 7d`);
  return new Date(t);
}
