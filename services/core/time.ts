// Durations and timestamps as every part of MiniSOC writes them: one grammar, milliseconds inside.
import { ConfigError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d{1,12}(?:\.\d{1,6})?)(ms|s|m|h|d)$/;

/** '500ms', '30s', '15m', '2h', '7d' (decimals allowed) in milliseconds; undefined for anything else. */
export function durationMs(value: string): number | undefined {
  const m = DURATION.exec(value.trim());
  return m ? Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]) : undefined;
}

/** durationMs, or a ConfigError naming the option (`what`) when the value is not a duration. */
export function parseDurationMs(what: string, value: string): number {
  const ms = durationMs(value);
  if (ms === undefined) throw new ConfigError(`${what} ${JSON.stringify(value)}: expected a duration such as 30s, 15m, 2h or 7d`);
  return ms;
}

/** An ISO 8601 timestamp of a date, a date string or epoch milliseconds; null stays null. */
export function iso(v: Date | string | number | null | undefined): string | null {
  return v == null ? null : new Date(v).toISOString();
}
