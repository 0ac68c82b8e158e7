// Runs the heartbeat monitor alone: agent health from hb.<id> into the AGENTS bucket and the agents table.
import { runStandalone } from '../core/service.js';
import { startHeartbeat } from './index.js';

await runStandalone('heartbeat', startHeartbeat, { needsDb: true });
