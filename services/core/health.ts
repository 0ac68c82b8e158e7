// What /healthz reports: NATS, Postgres, this process's event loop, and (under soc up) every other service.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db } from './db/index.js';
import { ConfigError, errorMessage } from './errors.js';
import { serviceStates } from './supervision.js';

export interface HealthReport {
  ok: boolean;
  /** One line per failing part, naming it: `postgres: unreachable (...)`, `service normalize: restarting (...)`. */
  failing: string[];
  nats: 'connected' | 'disconnected' | 'closed';
  postgres: 'ok' | 'unreachable' | 'not configured';
  eventLoopLagMs: number;
  services: { name: string; state: string; restarts: number; lastExit: string | null }[] | null;
}

/** Event-loop lag above this makes the process unhealthy: it answers, but late. */
const MAX_LAG_MS = 1000;

/**
 * Keeps the answer of /healthz ready: the database is probed in the background (every 2 s, each probe
 * bounded), so answering costs no query and stays fast while Postgres hangs.
 */
export class Health {
  private natsState: HealthReport['nats'] = 'connected';
  private pg: HealthReport['postgres'] = 'not configured';
  private pgError = '';
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private lagMs = 0;
  private timers: NodeJS.Timeout[] = [];
  private probing = false;

  constructor(private readonly nc: NatsConnection, private readonly db: () => Db, private readonly hasDb: boolean) {}

  start(): void {
    this.lag.enable();
    void (async () => {
      for await (const s of this.nc.status()) {
        if (s.type === 'disconnect') this.natsState = 'disconnected';
        else if (s.type === 'reconnect') this.natsState = 'connected';
      }
    })().catch(() => undefined);
    if (this.hasDb) {
      this.pg = 'ok';
      void this.probe();
      this.timers.push(setInterval(() => void this.probe(), 2000));
    }
    this.timers.push(setInterval(() => {
      this.lagMs = Math.round(this.lag.max / 1e6);
      this.lag.reset();
    }, 1000));
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.lag.disable();
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('no answer within 1 s')), 1000); });
      await Promise.race([sql`SELECT 1`.execute(this.db()), late]);
      this.pg = 'ok';
      this.pgError = '';
    } catch (err) {
      if (err instanceof ConfigError) { this.pg = 'not configured'; return; }
      this.pg = 'unreachable';
      this.pgError = errorMessage(err);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }

  report(): HealthReport {
    const nats = this.nc.isClosed() ? 'closed' : this.natsState;
    const failing: string[] = [];
    if (nats !== 'connected') failing.push(`nats: ${nats}`);
    if (this.pg === 'unreachable') failing.push(`postgres: unreachable (${this.pgError})`);
    if (this.lagMs > MAX_LAG_MS) failing.push(`event loop: ${this.lagMs} ms behind`);
    const states = serviceStates();
    for (const s of states ?? []) {
      if (s.state !== 'running') failing.push(`service ${s.name}: ${s.state}${s.lastExit ? ` (${s.lastExit})` : ''}`);
    }
    return {
      ok: failing.length === 0, failing, nats, postgres: this.pg, eventLoopLagMs: this.lagMs,
      services: states?.map((s) => ({ name: s.name, state: s.state, restarts: s.restarts, lastExit: s.lastExit })) ?? null,
    };
  }
}
