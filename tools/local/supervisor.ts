// `soc up`'s supervisor: every service in a process of its own, restarted with backoff when it crashes or
// stalls, its state told to the others (for /healthz) and written to DATA_DIR/services.json (for `soc stats`).
import { fork, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { AggregatorRegistry, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { backoffMs } from '../../services/core/backoff.js';
import type { Logger } from '../../services/core/log.js';
import type { ServiceState, ToService, ToSupervisor } from '../../services/core/supervision.js';

export interface ServiceSpec {
  name: string;
  /** The service's main module (the same program a container runs). */
  script: string;
  env: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  log: Logger;
  /** A running service silent for this long (its event loop stalled) is killed and restarted. */
  stallMs: number;
  /**
   * A starting service silent this long (no alive message: it never got its event loop going, or stalled in
   * its start-up code) is killed and restarted. Services take no message before they report ready.
   */
  startTimeoutMs: number;
  /** V8 heap ceiling of each service: a runaway service dies alone. */
  maxOldSpaceMb: number;
  /** V8 young-generation semi-space of each service, MB. */
  semiSpaceMb?: number;
  /** Where the states are written for the CLI. */
  stateFile?: string;
  /** Each line a service writes (its logs). */
  onLine?: (service: string, line: string) => void;
}

interface Running {
  spec: ServiceSpec;
  child?: ChildProcess;
  state: ServiceState;
  readyAt?: number;
  lastAlive: number;
  attempt: number;
  tail: string[];
  url?: string;
  restartTimer?: NodeJS.Timeout;
  ready: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void };
}

/** A service that refused its configuration (exit code 2): restarting it cannot help. */
export class ServiceConfigError extends Error {
  override name = 'ServiceConfigError';
}

const EXIT_CONFIG = 2;
/** A service that ran this long before crashing starts its backoff again from the first step. */
const STABLE_MS = 60_000;

function deferred(): Running['ready'] {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class Supervisor {
  private readonly services: Running[];
  private stopping = false;
  private watchdog?: NodeJS.Timeout;
  private metricRequests = 0;
  private readonly pendingMetrics = new Map<number, { want: number; got: MetricObjectWithValues<MetricValue<string>>[][]; done: () => void }>();
  private readonly own = new Registry();
  private readonly restartsGauge = new Gauge({ name: 'minisoc_service_restarts', help: 'Times soc up restarted a service since it started', labelNames: ['service'], registers: [this.own] });
  private readonly upGauge = new Gauge({ name: 'minisoc_service_up', help: '1 while a service runs and answers its supervisor', labelNames: ['service'], registers: [this.own] });

  constructor(specs: ServiceSpec[], private readonly o: SupervisorOptions) {
    this.services = specs.map((spec) => ({
      spec, lastAlive: 0, attempt: 0, tail: [], ready: deferred(),
      state: { name: spec.name, state: 'starting', pid: null, since: new Date().toISOString(), restarts: 0, lastExit: null },
    }));
  }

  /**
   * Starts every service and waits until each says it is ready; a service refusing its configuration fails
   * the start. One that keeps crashing does not hold it up past `waitMs`: it goes on restarting, and its
   * state says so.
   */
  async start(waitMs = 180_000): Promise<void> {
    for (const s of this.services) this.spawn(s);
    this.watchdog = setInterval(() => this.watch(), 1000);
    this.watchdog.unref();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, waitMs); });
    try {
      await Promise.race([Promise.all(this.services.map((s) => s.ready.promise)), late]);
    } finally {
      clearTimeout(timer);
    }
    const notReady = this.services.filter((s) => s.state.state !== 'running').map((s) => `${s.spec.name} (${s.state.lastExit ?? s.state.state})`);
    if (notReady.length) this.o.log.error({ services: notReady }, 'services not ready; they keep being restarted');
  }

  /** The URL a service reported when ready (the HTTP app's address). */
  url(name: string): string | undefined {
    return this.services.find((s) => s.spec.name === name)?.url;
  }

  states(): ServiceState[] {
    return this.services.map((s) => ({ ...s.state }));
  }

  /** Stops the services in reverse order of the list: each gets SIGTERM, and SIGKILL if it has not ended in time. */
  async stop(timeoutMs = 25_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.watchdog);
    for (const s of [...this.services].reverse()) {
      clearTimeout(s.restartTimer);
      const child = s.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) { this.setState(s, 'stopped'); continue; }
      this.setState(s, 'stopping');
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(late);
    }
  }

  private spawn(s: Running): void {
    const child = fork(s.spec.script, [], {
      env: { ...s.spec.env, SOC_SUPERVISED: '1' },
      // A supervisor run with --cpu-prof (BENCH_PROFILE_DIR) profiles its services too: Node refuses it in NODE_OPTIONS.
      execArgv: [`--max-old-space-size=${this.o.maxOldSpaceMb}`, ...(this.o.semiSpaceMb ? [`--max-semi-space-size=${this.o.semiSpaceMb}`] : []),
        ...process.execArgv.filter((a) => a.startsWith('--cpu-prof'))],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    s.child = child;
    // The reasons of an exit come from this process's lines, not from an earlier one's.
    s.tail = [];
    s.lastAlive = Date.now();
    s.readyAt = undefined;
    s.state.pid = child.pid ?? null;
    this.setState(s, s.state.restarts > 0 ? 'restarting' : 'starting');
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        s.tail.push(line);
        if (s.tail.length > 20) s.tail.shift();
        this.o.onLine?.(s.spec.name, line);
      });
    }
    child.on('message', (raw: unknown) => this.onMessage(s, raw as ToSupervisor));
    child.once('exit', (code, signal) => this.onExit(s, child, code, signal));
    child.once('error', (err) => this.o.log.error({ service: s.spec.name, err: err.message }, 'cannot run the service'));
  }

  private onMessage(s: Running, m: ToSupervisor): void {
    if (!m || typeof m !== 'object') return;
    if (m.type === 'alive') {
      s.lastAlive = Date.now();
    } else if (m.type === 'ready') {
      s.lastAlive = Date.now();
      s.readyAt = Date.now();
      if (m.url) s.url = m.url;
      this.setState(s, 'running');
      s.ready.resolve();
      this.o.log.info({ service: s.spec.name, pid: s.child?.pid, restarts: s.state.restarts }, 'service ready');
    } else if (m.type === 'metrics?') {
      void this.gatherMetrics().then((text) => this.send(s, { type: 'metrics', id: m.id, text }));
    } else if (m.type === 'metrics') {
      const p = this.pendingMetrics.get(m.id);
      if (p) {
        p.got.push(m.data as MetricObjectWithValues<MetricValue<string>>[]);
        if (p.got.length >= p.want) p.done();
      }
    }
  }

  private onExit(s: Running, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (s.child !== child) return;
    s.child = undefined;
    s.state.pid = null;
    const why = s.tail.map(errorLine).filter((l): l is string => l !== undefined).slice(-1)[0];
    s.state.lastExit = `${signal ? `killed by ${signal}` : `exited with code ${code}`}${why ? `: ${why}` : ''}`;
    if (this.stopping) { this.setState(s, 'stopped'); return; }
    if (code === EXIT_CONFIG && !s.readyAt) {
      // A bad setting: restarting cannot help, and the whole start is refused with the service's reason.
      this.setState(s, 'failed');
      s.ready.reject(new ServiceConfigError(`${s.spec.name}: ${s.tail.join('\n').trim() || s.state.lastExit}`));
      return;
    }
    if (s.readyAt && Date.now() - s.readyAt > STABLE_MS) s.attempt = 0;
    s.attempt++;
    s.state.restarts++;
    const delay = backoffMs(s.attempt, { baseMs: 1000, maxMs: 30_000, jitter: 0.1 });
    this.o.log.error({ service: s.spec.name, why: s.state.lastExit, restartInMs: delay, restarts: s.state.restarts }, 'service ended; restarting it');
    this.setState(s, 'restarting');
    s.restartTimer = setTimeout(() => { if (!this.stopping) this.spawn(s); }, delay);
  }

  /** Kills what stalled (no alive message) or never became ready; its exit then restarts it. */
  private watch(): void {
    const now = Date.now();
    for (const s of this.services) {
      const child = s.child;
      if (!child || child.exitCode !== null) continue;
      const silentMs = now - s.lastAlive;
      const stalled = s.readyAt ? silentMs > this.o.stallMs : silentMs > this.o.startTimeoutMs;
      if (stalled) {
        this.o.log.error({ service: s.spec.name, pid: child.pid, silentMs }, s.readyAt ? 'service stalled (no sign of life); killing it' : 'service did not start in time; killing it');
        s.tail.push(`stalled: no sign of life for ${Math.round(silentMs / 1000)} s`);
        child.kill('SIGKILL');
        s.lastAlive = now;
      }
    }
  }

  private setState(s: Running, state: ServiceState['state']): void {
    if (s.state.state !== state) s.state = { ...s.state, state, since: new Date().toISOString() };
    this.upGauge.set({ service: s.spec.name }, state === 'running' ? 1 : 0);
    this.restartsGauge.set({ service: s.spec.name }, s.state.restarts);
    const states = this.states();
    for (const other of this.services) this.send(other, { type: 'states', states });
    if (this.o.stateFile) {
      try {
        writeFileSync(`${this.o.stateFile}.tmp`, `${JSON.stringify({ updatedAt: new Date().toISOString(), services: states }, null, 2)}\n`);
        renameSync(`${this.o.stateFile}.tmp`, this.o.stateFile);
      } catch (err) {
        this.o.log.warn({ err: (err as Error).message }, 'cannot write the services state file');
      }
    }
  }

  private send(s: Running, m: ToService): void {
    const child = s.child;
    if (child?.connected) child.send(m, undefined, {}, () => undefined);
  }

  /** Every running service's metrics and the supervisor's own, as one Prometheus text. */
  private async gatherMetrics(): Promise<string | null> {
    const live = this.services.filter((s) => s.child?.connected && s.state.state === 'running');
    const id = ++this.metricRequests;
    const got: MetricObjectWithValues<MetricValue<string>>[][] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1500);
      this.pendingMetrics.set(id, { want: live.length, got, done: () => { clearTimeout(timer); resolve(); } });
      if (live.length === 0) resolve();
      for (const s of live) this.send(s, { type: 'metrics?', id });
    });
    this.pendingMetrics.delete(id);
    got.push(await this.own.getMetricsAsJSON() as MetricObjectWithValues<MetricValue<string>>[]);
    try {
      return await AggregatorRegistry.aggregate(got).metrics();
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'cannot aggregate service metrics');
      return null;
    }
  }
}

/** What a line says when it reports a failure (a pino line at level error or above, or plain text), else undefined. */
function errorLine(line: string): string | undefined {
  if (!line.trim()) return undefined;
  try {
    const v = JSON.parse(line) as { level?: number; msg?: unknown; err?: unknown };
    if ((v.level ?? 0) < 50) return undefined;
    const err = typeof v.err === 'string' ? v.err : (v.err as { message?: string } | undefined)?.message;
    return [v.msg, err].filter(Boolean).join(': ').slice(0, 300);
  } catch {
    return line.slice(0, 300);
  }
}
