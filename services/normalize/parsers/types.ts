// The contract every parser of the normalize stage follows.
import type { Event } from '../../core/proto.js';

export interface ParseContext {
  /** The log source the record came from. */
  sourceId: string;
  /** When ingest accepted the record (Unix ms): the fallback for records without a time. */
  receivedMs: number;
}

/**
 * A pure function from one raw record to zero or more normalized events. It throws ValidationError
 * (services/core/errors.ts) with a reason a person can act on when the record cannot be normalized.
 * The normalize core sets `id`, `source_id` and `ingested`, and `timestamp` when the parser found none.
 */
export type Parser = (record: string, ctx: ParseContext) => Event[];
