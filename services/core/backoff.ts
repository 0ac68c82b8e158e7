// Retry delays: one rule for every loop that waits before trying again (stages, publishers, reconnects).

export interface BackoffOptions {
  /** Delay of the first retry. */
  baseMs?: number;
  /** Ceiling of the delay. */
  maxMs: number;
  /** Spread: the delay is multiplied by a random factor in [1 - jitter, 1 + jitter], so retries do not march in step. */
  jitter?: number;
}

/** The delay before retry number `attempt` (1 = the first retry): base doubling up to the ceiling, jittered. */
export function backoffMs(attempt: number, o: BackoffOptions): number {
  const base = o.baseMs ?? 200;
  const exp = Math.min(30, Math.max(0, attempt - 1));
  const delay = Math.min(o.maxMs, base * 2 ** exp);
  const jitter = o.jitter ?? 0.2;
  return Math.round(delay * (1 - jitter + Math.random() * 2 * jitter));
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
