// The enrich core: adds context to normalized events. GeoIP, threat intel and assets come with their issue.
import type { Event } from '../core/proto.js';

export interface EnrichContext {
  nowMs: number;
}

/** Returns the events with what enrichment knows about them added (nothing yet: a pass-through). */
export function enrichBatch(events: Event[], _ctx: EnrichContext): Event[] {
  return events;
}
