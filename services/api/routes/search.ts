// Routes for event search, the network graph and streamed exports.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type pg from 'pg';
import { Type } from 'typebox';
import type { Db } from '../../core/db/index.js';
import { authErrors, page } from '../../core/http.js';
import { searchEvents } from '../queries/events.js';
import { EXPORT_FORMATS, EXPORT_KINDS, startExport } from '../queries/export.js';
import { MAX_SEARCH_CHARS } from '../queries/incidents.js';
import { networkGraph } from '../queries/network.js';
import { EventFilters, EventItem, EventsQuery, Graph, GraphQuery, IncidentFilters } from '../schemas.js';
import { requireRole } from '../../auth/plugin.js';

export function searchRoutes(db: () => Db, exportPool: () => pg.Pool): FastifyPluginAsyncTypebox {
  return async (app) => {
    const viewer = requireRole('viewer');

    app.get('/api/events', {
      preHandler: viewer,
      schema: {
        tags: ['events'], summary: 'Stored events, newest first, with counts per category for the whole filter (category filter left out)',
        querystring: EventsQuery,
        response: { 200: page(EventItem, { counts: Type.Record(Type.String(), Type.Integer()) }), ...authErrors },
      },
    }, async (req) => {
      const { limit, cursor, ...q } = req.query;
      return searchEvents(db(), q, { limit, cursor });
    });

    app.get('/api/network', {
      preHandler: viewer,
      schema: {
        tags: ['events'], summary: 'Hosts, addresses and address groups of a time range (default: the last hour) and their connections: alert entities first',
        querystring: GraphQuery,
        response: { 200: Graph, ...authErrors },
      },
    }, async (req) => {
      const { limit, ...q } = req.query;
      return networkGraph(db(), q, limit);
    });

    app.get('/api/export', {
      preHandler: viewer,
      schema: {
        tags: ['events'], summary: 'CSV or NDJSON of events or alerts for a filter, oldest first, streamed',
        querystring: Type.Object({
          kind: Type.Enum([...EXPORT_KINDS], { default: 'events' }),
          format: Type.Enum([...EXPORT_FORMATS], { default: 'csv' }),
          ...EventFilters, ...IncidentFilters,
          // Both listings search text under the same name: events their message, alerts their titles, ids and entities.
          q: Type.Optional(Type.String({ maxLength: 500, description: `events: text the message contains; alerts: words of the incidents' search (at most ${MAX_SEARCH_CHARS} characters)` })),
        }, { additionalProperties: false }),
        response: { 200: { description: 'the export file', content: { 'text/csv': { schema: {} }, 'application/x-ndjson': { schema: {} } } }, ...authErrors },
      },
    }, async (req, reply) => {
      const { kind, format, ...q } = req.query;
      const ex = await startExport(exportPool(), db(), kind, format, q);
      ex.done.catch((err: unknown) => {
        // A client going away mid-download is routine; anything else is worth a warning.
        if ((err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE') req.log.debug('export download abandoned by the client');
        else req.log.warn({ err }, 'export stopped before the end');
      });
      return reply.type(ex.contentType).header('content-disposition', `attachment; filename="${ex.filename}"`).send(ex.stream);
    });
  };
}
