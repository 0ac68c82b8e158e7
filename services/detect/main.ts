// Runs the detect service alone.
import { runStandalone } from '../core/service.js';
import { startDetect } from './service.js';

await runStandalone('detect', startDetect);
