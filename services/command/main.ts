// Runs the command service alone: delivery of queued commands to agents and storage of their results.
import { runStandalone } from '../core/service.js';
import { startCommand } from './index.js';

await runStandalone('command', startCommand, { needsDb: true });
