// Lists processes: from /proc on Linux (no child processes, exact start times), systeminformation elsewhere.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import si from 'systeminformation';
import type { ProcessInfo } from '../snapshot.js';

/** Longest command line kept: a process may pass megabytes of arguments, an event should not. */
export const MAX_COMMAND_LINE = 16 * 1024;

export interface ProcessCollector {
  list(): Promise<ProcessInfo[]>;
  /** Start time (Unix ms) of the process with this pid now, undefined when there is none. */
  startOf(pid: number): Promise<number | undefined>;
}

export function processCollector(): ProcessCollector {
  return process.platform === 'linux' && procReadable() ? new ProcFsCollector() : new SiCollector();
}

function procReadable(): boolean {
  try { readFileSync('/proc/stat'); return true; } catch { return false; }
}

function getconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

function capCommandLine(args: string[]): { commandLine: string; args: string[] } {
  let commandLine = args.join(' ');
  if (commandLine.length <= MAX_COMMAND_LINE) return { commandLine, args };
  commandLine = commandLine.slice(0, MAX_COMMAND_LINE);
  const kept: string[] = [];
  let len = 0;
  for (const a of args) {
    if (len + a.length > MAX_COMMAND_LINE) break;
    kept.push(a);
    len += a.length + 1;
  }
  return { commandLine, args: kept };
}

/** uid -> user name from /etc/passwd, re-read when the file changes. */
class UserNames {
  private names = new Map<number, string>();
  private mtimeMs = -1;

  name(uid: number): string {
    try {
      const m = statSync('/etc/passwd').mtimeMs;
      if (m !== this.mtimeMs) {
        this.mtimeMs = m;
        this.names = new Map();
        for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
          const f = line.split(':');
          if (f.length > 2 && f[0]) this.names.set(Number(f[2]), f[0]);
        }
      }
    } catch { /* no passwd file: numeric ids */ }
    return this.names.get(uid) ?? String(uid);
  }
}

interface Details { comm: string; name: string; executable: string; commandLine: string; args: string[]; user: string; kernel: boolean }

/** Parsed /proc/<pid>/stat: the fields after the command name, which may itself hold spaces and ')'. */
function readStat(pid: number): { comm: string; fields: string[] } | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/stat`, 'latin1'); } catch { return undefined; }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  return { comm: text.slice(open + 1, close), fields: text.slice(close + 2).split(' ') };
}

// Field n of /proc/<pid>/stat (1-based, man proc) is fields[n - 3] once pid and comm are cut off.
const F_PPID = 4 - 3, F_UTIME = 14 - 3, F_STIME = 15 - 3, F_STARTTIME = 22 - 3, F_RSS = 24 - 3;

class ProcFsCollector implements ProcessCollector {
  private readonly clkTck = getconf('CLK_TCK', 100);
  private readonly pageSize = getconf('PAGESIZE', 4096);
  private readonly cores = availableParallelism();
  private readonly bootMs: number;
  private readonly users = new UserNames();
  /**
   * Executable, command line and owner are read once per process and again only when its command name
   * changes: that is an exec, which keeps pid and start time (and catches a look between fork and exec).
   */
  private details = new Map<string, Details>();
  private ticks = new Map<string, number>();
  private lastMs = 0;

  constructor() {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    this.bootMs = btime ? Number(btime[1]) * 1000 : Date.now() - Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000);
  }

  private startMs(starttime: string): number {
    return this.bootMs + Math.round((Number(starttime) * 1000) / this.clkTck);
  }

  private readDetails(pid: number, ppid: number, comm: string): Details | undefined {
    let uid: number;
    try { uid = statSync(`/proc/${pid}`).uid; } catch { return undefined; }
    let argv: string[] = [];
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      argv = raw.split('\0');
      if (argv[argv.length - 1] === '') argv.pop();
    } catch { /* ended meanwhile, or not ours to read */ }
    let executable = '';
    try { executable = readlinkSync(`/proc/${pid}/exe`); } catch { /* kernel thread, or another user's process without root */ }
    const kernel = argv.length === 0 && (pid === 2 || ppid === 2);
    const name = executable ? basename(executable.replace(/ \(deleted\)$/, '')) : comm;
    return { comm, name, executable, ...capCommandLine(argv), user: this.users.name(uid), kernel };
  }

  async list(): Promise<ProcessInfo[]> {
    const now = Date.now();
    const elapsedS = this.lastMs ? (now - this.lastMs) / 1000 : 0;
    const out: ProcessInfo[] = [];
    const details = new Map<string, Details>();
    const ticks = new Map<string, number>();
    for (const entry of readdirSync('/proc')) {
      const c = entry.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(entry);
      const stat = readStat(pid);
      if (!stat) continue;
      const f = stat.fields;
      const key = `${pid}:${f[F_STARTTIME]}`;
      const ppid = Number(f[F_PPID]);
      const cached = this.details.get(key);
      const d = cached && cached.comm === stat.comm ? cached : this.readDetails(pid, ppid, stat.comm);
      if (!d) continue;
      details.set(key, d);
      const used = Number(f[F_UTIME]) + Number(f[F_STIME]);
      ticks.set(key, used);
      const startMs = this.startMs(f[F_STARTTIME]!);
      const prev = this.ticks.get(key);
      // A process first seen now is measured over its whole life, later ones since the previous look.
      const overS = prev !== undefined && elapsedS > 0 ? elapsedS : Math.max(0.001, (now - startMs) / 1000);
      const delta = prev !== undefined && elapsedS > 0 ? used - prev : used;
      out.push({
        pid, ppid, name: d.name, executable: d.executable, commandLine: d.commandLine, args: d.args, user: d.user,
        startMs, cpu: Math.min(1, Math.max(0, delta / this.clkTck / overS / this.cores)),
        memoryRss: Number(f[F_RSS]) * this.pageSize, kernel: d.kernel,
      });
    }
    this.details = details;
    this.ticks = ticks;
    this.lastMs = now;
    return out;
  }

  async startOf(pid: number): Promise<number | undefined> {
    const stat = readStat(pid);
    return stat ? this.startMs(stat.fields[F_STARTTIME]!) : undefined;
  }
}

/**
 * Other systems: systeminformation, whose start times come from `ps` elapsed times at second
 * precision. A start time that moves by a second or two between looks is the same process.
 */
class SiCollector implements ProcessCollector {
  private starts = new Map<number, { name: string; startMs: number }>();
  private readonly cores = availableParallelism();

  async list(): Promise<ProcessInfo[]> {
    const data = await si.processes();
    const starts = new Map<number, { name: string; startMs: number }>();
    const out = data.list.map((p): ProcessInfo => {
      let startMs = new Date(p.started.replace(' ', 'T')).getTime() || 0;
      const known = this.starts.get(p.pid);
      if (known && known.name === p.name && Math.abs(known.startMs - startMs) <= 2000) startMs = known.startMs;
      starts.set(p.pid, { name: p.name, startMs });
      const argv = [p.path ? `${p.path}/${p.command}` : p.command, ...(p.params ? p.params.split(' ') : [])];
      return {
        pid: p.pid, ppid: p.parentPid, name: p.name, executable: p.path ? `${p.path}/${p.command}` : '',
        ...capCommandLine(argv), user: p.user, startMs, cpu: Math.min(1, Math.max(0, p.cpu / 100 / this.cores)),
        memoryRss: p.memRss * 1024, kernel: false,
      };
    });
    this.starts = starts;
    return out;
  }

  async startOf(pid: number): Promise<number | undefined> {
    return (await this.list()).find((p) => p.pid === pid)?.startMs;
  }
}
