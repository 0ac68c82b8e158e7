// One root pino logger per service; children carry stream, subject and sequence.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: service,
    level,
    redact: { paths: ['*.password', '*.token', '*.authorization', 'req.headers.authorization', '*.seed'], censor: '[redacted]' },
  });
}
