// The investigation timeline route: one entity's events and alerts across sources, and its neighbours for pivots.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Db } from '../../core/db/index.js';
import { authErrors } from '../../core/http.js';
import { timeline } from '../queries/timeline.js';
import { Timeline, TimelineQuery } from '../schemas.js';
import { requireRole } from '../../auth/plugin.js';

/** `db` is the analysts' read pool: its statement timeout cancels a timeline that reads too much (503). */
export function timelineRoutes(db: () => Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/timeline', {
      preHandler: requireRole('viewer'),
      schema: {
        tags: ['events'],
        summary: 'One entity\'s events and alerts across every source, newest first (keyset pages), with the entities seen with it',
        querystring: TimelineQuery,
        response: { 200: Timeline, ...authErrors },
      },
    }, async (req) => {
      const { entity, since, until, cursor, limit, top } = req.query;
      return timeline(db(), { entity, since, until }, { limit, cursor, top });
    });
  };
}
