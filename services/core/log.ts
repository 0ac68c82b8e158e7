// One root pino logger per process, with the one list of secrets never written; children carry stream, subject and sequence.
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

/** Fields that hold secrets anywhere in a log line: replaced by [redacted]. */
export const REDACTED_PATHS = [
  'password', 'token', 'seed', 'jwt', 'authorization', 'cookie',
  '*.password', '*.token', '*.seed', '*.jwt', '*.authorization', '*.cookie',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
];

export interface LoggerOptions {
  /** pino level; LOG_LEVEL or info by default. */
  level?: string;
  /** Write to stderr instead of stdout (tools whose stdout is their output). */
  stderr?: boolean;
}

/** Human-readable lines for a person at a terminal; JSON (one object a line) for everything else. */
const PRETTY: pinoPretty.PrettyOptions = { colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' };

function prettyWanted(fd: 1 | 2): boolean {
  if (process.env.LOG_FORMAT === 'json') return false;
  return process.env.LOG_FORMAT === 'pretty' || Boolean((fd === 1 ? process.stdout : process.stderr).isTTY);
}

export function createLogger(name: string, o: LoggerOptions | string = {}): Logger {
  const opts = typeof o === 'string' ? { level: o } : o;
  const fd = opts.stderr ? 2 : 1;
  return pino(
    { name, level: opts.level ?? process.env.LOG_LEVEL ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    prettyWanted(fd) ? pinoPretty({ ...PRETTY, destination: fd, sync: true }) : opts.stderr ? pino.destination(2) : undefined,
  );
}

/**
 * For `soc up`, which prints the JSON lines its service processes write: a formatter that makes them
 * human-readable when its own output is a terminal (or LOG_FORMAT=pretty), undefined when they stay JSON.
 */
export function lineFormatter(): ((line: string) => string) | undefined {
  if (!prettyWanted(1)) return undefined;
  const format = pinoPretty.prettyFactory(PRETTY);
  return (line) => (line.startsWith('{') ? format(line).replace(/\n$/, '') : line);
}
