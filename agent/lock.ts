// One agent per data directory: two would hand out the same batch sequences and share one spool.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Another live agent holds the data directory. */
export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes `<dir>/agent.lock`. The lock records pid and process start time: a lock left by a crash is
 * taken over even when its pid now belongs to another process (after a reboot, say).
 */
export async function lockDataDir(dir: string, startOf: (pid: number) => Promise<number | undefined>): Promise<() => void> {
  const path = join(dir, 'agent.lock');
  const me = `${process.pid} ${(await startOf(process.pid)) ?? 0}\n`;
  try {
    writeFileSync(path, me, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const [pidText, startText] = readFileSync(path, 'utf8').trim().split(' ');
    const pid = Number(pidText);
    const start = Number(startText);
    if (pid !== process.pid && alive(pid) && (!start || (await startOf(pid)) === start)) {
      throw new DataDirLockedError(`data directory ${dir} is in use by another agent (pid ${pid}); give each agent its own dataDir`);
    }
    writeFileSync(path, me, { mode: 0o600 });
  }
  return () => {
    try {
      if (readFileSync(path, 'utf8') === me) unlinkSync(path);
    } catch { /* already gone */ }
  };
}
