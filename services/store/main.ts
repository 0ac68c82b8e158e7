// Runs the store service alone: enriched events, alerts and dead letters into PostgreSQL.
import { runStandalone } from '../core/service.js';
import { startStore } from './index.js';

await runStandalone('store', startStore, { needsDb: true });
