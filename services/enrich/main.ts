// Runs the enrich service alone.
import { runStandalone } from '../core/service.js';
import { startEnrich } from './index.js';

await runStandalone('enrich', startEnrich);
