// One process per directory: a lock file naming its holder (pid and process start), taken over only from the dead.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

/** Another live process holds the lock; `holder` is what it wrote there. */
export class LockedError extends Error {
  override name = 'LockedError';
  constructor(message: string, readonly holder: LockHolder, options?: ErrorOptions) { super(message, options); }
}

export interface LockHolder {
  pid: number;
  /** Start time of the holding process (clock ticks since boot on Linux), so a reused pid is not mistaken for it. */
  start: number;
  [key: string]: unknown;
}

/** Whether a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), undefined when unknown. */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    return Number.isFinite(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

/** The command line of a live process (arguments joined by spaces), '' when it cannot be read. */
export function processCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** The holder recorded in a lock file, undefined when there is none or it cannot be read. */
export function readLock(path: string): LockHolder | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof v.pid === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process a lock names is still the one that wrote it. */
export function holderAlive(h: LockHolder, startOf: (pid: number) => number | undefined = processStartTicks): boolean {
  if (h.pid === process.pid || !alive(h.pid)) return false;
  const start = startOf(h.pid);
  return !h.start || start === undefined || start === h.start;
}

export interface Lock {
  /** What a dead predecessor had written, when its lock was taken over. */
  stale?: LockHolder;
  /** Updates what the lock says about its holder (URLs once known). */
  update(extra: Record<string, unknown>): void;
  release(): void;
}

/**
 * Takes the lock file at `path` for this process, recording `extra` beside pid and start. A lock whose
 * holder is alive throws LockedError (nothing is touched); one whose holder is dead is taken over and its
 * record returned as `stale`, so the caller can clean up what that process left behind.
 */
export function takeLock(path: string, extra: Record<string, unknown>, o: { describe?: (h: LockHolder) => string; startOf?: (pid: number) => number | undefined } = {}): Lock {
  const startOf = o.startOf ?? processStartTicks;
  let mine: LockHolder = { ...extra, pid: process.pid, start: startOf(process.pid) ?? 0 };
  const write = (flag: 'wx' | 'w') => {
    const text = `${JSON.stringify(mine)}\n`;
    if (flag === 'wx') return writeFileSync(path, text, { flag: 'wx', mode: 0o600 });
    // Replaced whole, so a reader never sees half a record.
    writeFileSync(`${path}.tmp`, text, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  };
  let stale: LockHolder | undefined;
  for (let tries = 0; ; tries++) {
    try {
      write('wx');
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 3) throw err;
    }
    const holder = readLock(path) ?? { pid: 0, start: 0 };
    if (holderAlive(holder, startOf)) {
      throw new LockedError(o.describe?.(holder) ?? `${path} is held by process ${holder.pid}`, holder);
    }
    // Moved aside, then checked: if another starter took the lock in between, what was moved is its live
    // lock, and it goes back.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readLock(aside);
    if (moved && holderAlive(moved, startOf)) {
      renameSync(aside, path);
      throw new LockedError(o.describe?.(moved) ?? `${path} is held by process ${moved.pid}`, moved);
    }
    unlinkSync(aside);
    stale = holder.pid ? holder : undefined;
  }
  return {
    stale,
    update: (more) => {
      mine = { ...mine, ...more, pid: mine.pid, start: mine.start };
      write('w');
    },
    release: () => {
      try {
        if (readLock(path)?.pid === process.pid) unlinkSync(path);
      } catch { /* already gone */ }
    },
  };
}
