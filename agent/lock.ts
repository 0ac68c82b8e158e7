// One agent per data directory: two would hand out the same batch sequences and share one spool.
import { join } from 'node:path';
import { LockedError, takeLock } from '../services/core/lock.js';

/** Another live agent holds the data directory. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

/**
 * Takes `<dir>/agent.lock`. The lock records pid and process start time: a lock left by a crash is
 * taken over even when its pid now belongs to another process (after a reboot, say).
 */
export function lockDataDir(dir: string): () => void {
  try {
    return takeLock(join(dir, 'agent.lock'), {}).release;
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    throw new DataDirLockedError(`data directory ${dir} is in use by another agent (pid ${err.holder.pid}); give each agent its own dataDir`, { cause: err });
  }
}
