// Routes for incidents, one alert, triage, false-positive filters and suppressions.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db/index.js';
import type { FilterStore } from '../../detect/filter-store.js';
import { authErrors, errorBody, errorSchema, page } from '../../core/http.js';
import { deleteFilter, listSavedFilters, previewFilter, saveFilter, type FilterDeps } from '../queries/filters.js';
import { alertHistory, bulkTriage, getAlert, listIncidents, MAX_BULK_IDS, triageAlert } from '../queries/incidents.js';
import { createSuppression, deleteSuppression, listSuppressions } from '../queries/suppressions.js';
import { AlertDetail, BulkRefused, BulkTriage, FilterPreview, FilterQuery, Incident, IncidentsQuery, NewFilter, NewSuppression, RemovedFilter, SavedFilter, SavedFilterItem, Suppression, Triage } from '../schemas.js';
import { requireRole } from '../../auth/plugin.js';

const AlertId = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });

/**
 * `reads`: the analysts' read pool (statement timeout); `db`: the main pool, for changes; `config`: where rules live;
 * `store`: the RULE_FILTERS bucket, where saved filters live (opened on first use).
 */
export function triageRoutes(db: () => Db, reads: () => Db, config: Config, store: () => Promise<FilterStore>): FastifyPluginAsyncTypebox {
  return async (app) => {
    const viewer = requireRole('viewer');
    const analyst = requireRole('analyst');
    const filters = async (): Promise<FilterDeps> => ({ config, store: await store() });

    app.get('/api/incidents', {
      preHandler: viewer,
      schema: {
        tags: ['incidents'], summary: 'Alerts folded by dedup key, filtered, newest or highest score first',
        querystring: IncidentsQuery, response: { 200: page(Incident), ...authErrors },
      },
    }, async (req) => {
      const { limit, cursor, ...q } = req.query;
      return listIncidents(reads(), q, { limit, cursor });
    });

    app.get('/api/alerts/:id', {
      preHandler: viewer,
      schema: {
        tags: ['incidents'], summary: 'One alert with the events that raised it and its triage history', params: AlertId,
        response: { 200: AlertDetail, 404: errorSchema, ...authErrors },
      },
    }, async (req) => {
      const r = reads();
      const [one, history] = await Promise.all([getAlert(r, req.params.id), alertHistory(r, req.params.id)]);
      return { ...one, history };
    });

    app.patch('/api/alerts/:id', {
      preHandler: analyst,
      schema: {
        tags: ['incidents'],
        summary: 'Triage: status (closing needs closeReason), assignee, comment; audited',
        description: 'A closed alert accepts only status "open" (reopen), an assignee or a comment (409 otherwise). Reopening answers 409 '
          + 'when the same dedup key already has an alert that is not closed (the message names it).',
        params: AlertId, body: Triage, response: { 200: Incident, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    }, async (req) => triageAlert(db(), req.params.id, req.body, req.user!.name));

    app.post('/api/alerts/triage', {
      preHandler: analyst,
      schema: {
        tags: ['incidents'],
        summary: `Bulk triage of 1 to ${MAX_BULK_IDS} alerts (ack, close, assign), all or none in one transaction; audited per alert`,
        description: 'When any id cannot be changed (unknown, or closed for ack and close), nothing is changed and the answer is 409 with '
          + '`refused`: each such id and why.',
        body: BulkTriage, response: { 200: Type.Object({ items: Type.Array(Incident) }), 409: BulkRefused, ...authErrors },
      },
    }, async (req, reply) => {
      const r = await bulkTriage(db(), req.body, req.user!.name);
      if (r.ok) return { items: r.items };
      const n = req.body.ids.length;
      return reply.code(409).send({ ...errorBody(409, `nothing changed: ${r.refused.length} of ${n} alert(s) cannot be changed by ${req.body.action}`), refused: r.refused });
    });

    app.get('/api/alerts/:id/filter', {
      preHandler: viewer,
      schema: {
        tags: ['incidents'], summary: 'The Sigma filter proposed for a false positive: the rule, and the chosen fields of the alert\'s event',
        params: AlertId, querystring: FilterQuery, response: { 200: FilterPreview, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    }, async (req) => {
      const fields = req.query.fields?.split(',').map((f) => f.trim()).filter(Boolean);
      return previewFilter(reads(), await filters(), req.params.id, req.user!.name, fields);
    });

    app.post('/api/alerts/:id/filter', {
      preHandler: analyst,
      schema: {
        tags: ['incidents'], summary: 'Save a Sigma filter for an alert closed as false_positive or benign, checked by the rule loader first, into the KV bucket RULE_FILTERS; audited, hot-reloaded by detect',
        params: AlertId, body: NewFilter, response: { 201: SavedFilter, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    }, async (req, reply) => reply.code(201).send(await saveFilter(db(), await filters(), req.params.id, req.body.yaml, req.user!.name, req.body.comment)));

    app.delete('/api/alerts/:id/filter', {
      preHandler: analyst,
      schema: {
        tags: ['incidents'], summary: 'Lift the filter saved for an alert (removed from the KV bucket RULE_FILTERS); audited, detect reloads without it',
        params: AlertId, response: { 200: RemovedFilter, 404: errorSchema, ...authErrors },
      },
    }, async (req) => deleteFilter(db(), await filters(), req.params.id, req.user!.name));

    app.get('/api/filters', {
      preHandler: viewer,
      schema: {
        tags: ['incidents'], summary: 'The filters saved from false positives (KV bucket RULE_FILTERS), with the rules they name or why detect skips them',
        response: { 200: Type.Object({ items: Type.Array(SavedFilterItem) }), ...authErrors },
      },
    }, async () => listSavedFilters({ store: await store() }));

    app.get('/api/suppressions', {
      preHandler: viewer,
      schema: {
        tags: ['suppressions'], summary: 'Suppressions in force (all=true: expired ones too), with their hit counts',
        querystring: Type.Object({ all: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(Suppression) }), ...authErrors },
      },
    }, async (req) => ({ items: await listSuppressions(db(), { all: req.query.all }) }));

    app.post('/api/suppressions', {
      preHandler: analyst,
      schema: {
        tags: ['suppressions'], summary: 'Mute a rule for one host, user or source address until a time; matches are counted, not alerted',
        body: NewSuppression, response: { 201: Suppression, ...authErrors },
      },
    }, async (req, reply) => reply.code(201).send(await createSuppression(db(), req.body, req.user!.name)));

    app.delete('/api/suppressions/:id', {
      preHandler: analyst,
      schema: {
        tags: ['suppressions'], summary: 'Lift a suppression', params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: Type.Object({ ok: Type.Boolean() }), 404: errorSchema, ...authErrors },
      },
    }, async (req) => {
      await deleteSuppression(db(), req.params.id, req.user!.name);
      return { ok: true };
    });
  };
}
