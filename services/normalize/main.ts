// Runs the normalize service alone.
import { runStandalone } from '../core/service.js';
import { startNormalize } from './index.js';

await runStandalone('normalize', startNormalize);
