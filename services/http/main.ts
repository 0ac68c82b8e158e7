// Runs the HTTP app alone: ingest, the analysts' API, commands, enrollment, the live gateway and the dashboard.
import { runStandalone } from '../core/service.js';
import { startHttp } from './index.js';

await runStandalone('http', startHttp);
