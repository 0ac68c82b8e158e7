// One root pino logger per process, with the one list of secrets never written; children carry stream, subject and sequence.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Fields that hold secrets anywhere in a log line: replaced by [redacted]. */
export const REDACTED_PATHS = [
  '*.password', '*.token', '*.seed', '*.jwt', '*.authorization', '*.cookie',
  'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
];

export interface LoggerOptions {
  /** pino level; LOG_LEVEL or info by default. */
  level?: string;
  /** Write to stderr instead of stdout (tools whose stdout is their output). */
  stderr?: boolean;
}

export function createLogger(name: string, o: LoggerOptions | string = {}): Logger {
  const opts = typeof o === 'string' ? { level: o } : o;
  return pino(
    { name, level: opts.level ?? process.env.LOG_LEVEL ?? 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    opts.stderr ? pino.destination(2) : undefined,
  );
}
