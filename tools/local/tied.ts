// Child programs that must not outlive `soc up`: on Linux the kernel signals them when their parent dies,
// even by SIGKILL (setpriv --pdeathsig), so a killed supervisor leaves no nats-server or Postgres behind.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

let setprivPath: string | null | undefined;

/** setpriv from util-linux (on every Debian), or null where there is none. */
function setpriv(): string | null {
  if (setprivPath === undefined) {
    const found = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' });
    setprivPath = found.status === 0 && found.stdout.trim() ? found.stdout.trim() : null;
  }
  return setprivPath;
}

export interface TiedOptions extends Omit<SpawnOptions, 'uid' | 'gid'> {
  /** Signal the program gets when this process dies (its clean-shutdown signal). */
  deathSignal: NodeJS.Signals;
  /** Run as this user and group (an embedded Postgres refuses to run as root). */
  uid?: number;
  gid?: number;
}

/** Whether children started by spawnTied die with this process (false: only the next start cleans up). */
export function tiesAvailable(): boolean {
  return process.platform === 'linux' && setpriv() !== null;
}

/**
 * Spawns `command` so that it gets `deathSignal` when this process ends. setpriv sets the parent-death
 * signal after it changes user, so the tie holds for a program run as another user too. Without setpriv the
 * program is spawned plainly (it then outlives a SIGKILLed parent until the next start cleans it up).
 */
export function spawnTied(command: string, args: string[], o: TiedOptions): ChildProcess {
  const { deathSignal, uid, gid, ...rest } = o;
  const sp = tiesAvailable() ? setpriv() : null;
  if (!sp) return spawn(command, args, { ...rest, uid, gid });
  const who = uid !== undefined ? [`--reuid=${uid}`, `--regid=${gid ?? uid}`, '--clear-groups'] : [];
  return spawn(sp, [...who, `--pdeathsig=${deathSignal}`, '--', command, ...args], rest);
}
