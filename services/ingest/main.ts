// Runs the ingest HTTP API alone.
import { runStandalone } from '../core/service.js';
import { startIngest } from './index.js';

await runStandalone('ingest', startIngest);
