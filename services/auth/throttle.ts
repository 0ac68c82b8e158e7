// Sign-in throttling: failed logins counted per account and per address in a window, with a lockout once too many.

export interface ThrottleLimits {
  /** Failures one account may have in `windowMs` before it is locked. */
  perAccount: number;
  /** Failures one address may have in `windowMs` before it is locked. */
  perAddress: number;
  windowMs: number;
  /** How long a locked account or address stays locked. */
  lockoutMs: number;
  /** Keys remembered at most (the oldest are forgotten first), so a flood of names cannot exhaust memory. */
  maxKeys: number;
}

export const DEFAULT_THROTTLE: ThrottleLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000, lockoutMs: 15 * 60_000, maxKeys: 10_000 };

interface Entry { failures: number; since: number; lockedUntil: number }

/** In this process only: each HTTP replica counts on its own (documented in services/auth/README.md). */
export class LoginThrottle {
  private entries = new Map<string, Entry>();

  constructor(readonly limits: ThrottleLimits = DEFAULT_THROTTLE, private now: () => number = Date.now) {}

  /** Milliseconds until the account or the address may try again; 0 when neither is locked. */
  lockedFor(account: string, address: string): number {
    const t = this.now();
    return Math.max(0, ...[`a:${account}`, `i:${address}`].map((k) => (this.entries.get(k)?.lockedUntil ?? 0) - t));
  }

  /** Counts a failure; answers which of the two it locked just now (for the audit log). */
  fail(account: string, address: string): { accountLocked: boolean; addressLocked: boolean } {
    return {
      accountLocked: this.count(`a:${account}`, this.limits.perAccount),
      addressLocked: this.count(`i:${address}`, this.limits.perAddress),
    };
  }

  /** A successful sign-in clears the account's failures (the address keeps its count). */
  succeed(account: string): void {
    this.entries.delete(`a:${account}`);
  }

  private count(key: string, limit: number): boolean {
    const t = this.now();
    let e = this.entries.get(key);
    if (!e || t - e.since > this.limits.windowMs) {
      e = { failures: 0, since: t, lockedUntil: 0 };
      this.entries.delete(key);
      this.entries.set(key, e);
      while (this.entries.size > this.limits.maxKeys) this.entries.delete(this.entries.keys().next().value!);
    }
    e.failures++;
    if (e.failures >= limit && e.lockedUntil <= t) {
      e.lockedUntil = t + this.limits.lockoutMs;
      e.failures = 0;
      e.since = t;
      return true;
    }
    return false;
  }
}
