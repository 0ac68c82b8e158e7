// The endpoint agent: collects, diffs into events, ships them through the spool, heartbeats, answers commands.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, credsAuthenticator, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { errorMessage } from '../services/core/errors.js';
import type { Logger } from '../services/core/log.js';
import { CommandResult, Heartbeat, type Event, type minisoc } from '../services/core/proto.js';
import { agentInboxPrefix, subjects } from '../services/core/topology.js';
import { natsTlsOptions } from '../services/core/tls.js';
import { Collectors } from './collect/index.js';
import { listSockets } from './collect/sockets.js';
import { CommandFailed, prepare, type CommandContext, type IntervalName } from './commands.js';
import type { AgentConfig } from './config.js';
import { diff, inventory, type DiffState } from './differ.js';
import { hostProto, type Stamp } from './events.js';
import { credentialsTimes, renewalDue, renewCredentials } from './enroll.js';
import { lockDataDir } from './lock.js';
import { Shipper, type ShipperStats } from './shipper.js';
import type { Snapshot } from './snapshot.js';
import { BatchSequence, Spool } from './spool.js';
import { AGENT_VERSION } from './version.js';
import { LocalRules } from './local-rules.js';
import { backoffMs, sleep } from '../services/core/backoff.js';

export interface AgentOptions {
  config: AgentConfig;
  log: Logger;
  /** Run the collectors; off when a test feeds its own events through emit(). */
  collect?: boolean;
  /** How long stop() lets the spool drain before giving up (it is kept on disk either way). */
  drainOnStopMs?: number;
}

/** Command results waiting for JetStream beyond this are dropped (and logged). */
const MAX_PENDING_RESULTS = 100;

export class Agent {
  readonly config: AgentConfig;
  private readonly log: Logger;
  private readonly collectors = new Collectors();
  private readonly startedMs = Date.now();
  private readonly intervals: Record<IntervalName, number>;
  private stamp: Stamp;
  private state: DiffState = {};
  private host: minisoc.IHost | undefined;
  private spool!: Spool;
  private shipper!: Shipper;
  private unlock: (() => void) | undefined;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private connected = false;
  private stopped = false;
  private timers = new Map<string, NodeJS.Timeout>();
  private generations = new Map<string, number>();
  /** Collections run one at a time, so no snapshot is diffed against a newer state. */
  private serial: Promise<unknown> = Promise.resolve();
  private pendingResults = 0;
  private background = new Set<Promise<unknown>>();
  private lastError = '';
  /** Ids of the commands received lately, oldest first. */
  private readonly recentCommands = new Set<string>();
  private localRules: LocalRules | undefined;

  constructor(private readonly o: AgentOptions) {
    this.config = o.config;
    this.log = o.log;
    this.intervals = { collect: o.config.collectIntervalS, resources: o.config.resourceIntervalS, heartbeat: o.config.heartbeatIntervalS };
    this.stamp = { agentId: o.config.id, version: AGENT_VERSION, hostName: this.collectors.host.facts().hostname };
  }

  async start(): Promise<void> {
    const dir = this.config.dataDir;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.unlock = lockDataDir(dir);
    this.spool = new Spool(join(dir, 'spool'), this.config.spoolMaxBytes);
    this.shipper = new Shipper({
      agentId: this.config.id, spool: this.spool, sequence: new BatchSequence(dir, this.spool.maxSeq),
      batchMaxEvents: this.config.batchMaxEvents, batchMaxAgeMs: this.config.batchMaxAgeMs, batchMaxBytes: this.config.batchMaxBytes,
      publishTimeoutMs: this.config.publishTimeoutMs, log: this.log, onError: (m) => this.noteError(m),
    });
    if (this.config.localRulesDir) {
      const { rules, problems } = LocalRules.load(this.config.localRulesDir);
      for (const p of problems) this.log.warn({ rule: p }, 'local rule problem');
      this.localRules = rules;
    }
    if (this.spool.depth) this.log.info({ batches: this.spool.depth, bytes: this.spool.bytes }, 'spooled batches from before: sent first');
    if (this.o.collect !== false) {
      // A failed first look is reported like any later one; the agent still runs and retries on schedule.
      await this.serialized(() => this.inventory()).catch((err: unknown) => {
        this.noteError(`inventory: ${errorMessage(err)}`);
        this.log.warn({ err: errorMessage(err) }, 'first inventory failed');
      });
      this.every('collect', () => this.intervals.collect * 1000, () => this.serialized(() => this.collect(this.collectors.activity())));
      this.every('resources', () => this.intervals.resources * 1000, () => this.serialized(() => this.collect(this.collectors.resources())));
      this.every('inventory', () => this.config.inventoryIntervalMin * 60_000, () => this.serialized(() => this.inventory()));
    }
    this.every('heartbeat', () => this.intervals.heartbeat * 1000, async () => this.heartbeat());
    // Enrolled credentials expire: renewed at the server enrolled with once less than a third of their life is left.
    if (this.config.credsFile && this.config.enrollServer) this.every('renew', () => this.config.renewCheckIntervalS * 1000, () => this.renewIfDue());
    this.track(this.connectLoop());
    this.log.info({ agent: this.config.id, servers: this.config.natsUrls, dataDir: dir }, 'agent started');
  }

  /** Queues events from a source other than the collectors (tests, future plug-ins). */
  emit(events: Event[]): void {
    this.ship(events);
  }

  /** Queues events, with the alert events local rules raise on them (when local rules are on). */
  private ship(events: Event[]): void {
    this.shipper.push(events);
    if (!this.localRules) return;
    try {
      const alerts = this.localRules.evaluate(events, this.stamp);
      if (alerts.length) this.shipper.push(alerts);
    } catch (err) {
      this.noteError(`local rules: ${errorMessage(err)}`);
    }
  }

  /** What the heartbeat reports, plus whether the connection is up. */
  stats(): ShipperStats & { connected: boolean } {
    return { ...this.shipper.stats(), lastError: this.lastError, connected: this.connected };
  }

  private noteError(message: string): void {
    this.lastError = `${new Date().toISOString()} ${message}`;
  }

  /** Keeps a background task for stop() to wait on; its failure is reported, never left unhandled. */
  private track<T>(p: Promise<T>): void {
    this.background.add(p);
    void p.then(() => undefined, (err: unknown) => {
      this.noteError(errorMessage(err));
      this.log.error({ err: errorMessage(err) }, 'background task failed');
    }).finally(() => this.background.delete(p));
  }

  /**
   * Runs `fn` after `ms()` and again `ms()` after each run ends (a slow run never overlaps the next).
   * Calling it again for the same name replaces the schedule, even while a run is under way.
   */
  private every(name: string, ms: () => number, fn: () => Promise<unknown>): void {
    const generation = (this.generations.get(name) ?? 0) + 1;
    this.generations.set(name, generation);
    clearTimeout(this.timers.get(name));
    const current = () => !this.stopped && this.generations.get(name) === generation;
    const tick = async () => {
      if (!current()) return;
      try {
        await fn();
      } catch (err) {
        this.noteError(`${name}: ${errorMessage(err)}`);
        this.log.warn({ err: errorMessage(err), task: name }, 'periodic task failed');
      }
      if (current()) this.timers.set(name, setTimeout(() => void tick(), ms()));
    };
    this.timers.set(name, setTimeout(() => void tick(), ms()));
  }

  private serialized(fn: () => Promise<unknown>): Promise<unknown> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  private apply(snap: Snapshot): Event[] {
    const r = diff(this.state, snap, this.stamp);
    this.state = r.state;
    if (r.hostChanged && snap.host) {
      this.stamp = { ...this.stamp, hostName: snap.host.hostname };
      this.host = hostProto(snap.host);
      this.shipper.setHost(this.host);
    }
    return r.events;
  }

  private async collect(snapshot: Promise<Snapshot>): Promise<number> {
    const events = this.apply(await snapshot);
    this.ship(events);
    return events.length;
  }

  private async inventory(): Promise<number> {
    const snap = await this.collectors.all();
    const events = [...this.apply(snap), ...inventory(snap, this.stamp)];
    this.ship(events);
    return events.length;
  }

  /** `stopping`: the goodbye of a planned stop, after which the monitor shows the agent stopped (no alert). */
  private heartbeat(stopping = false): void {
    const nc = this.nc;
    // A heartbeat is about now: one buffered through an outage would claim the agent was fine.
    if (!nc || !this.connected) return;
    const s = this.shipper.stats();
    const hb = Heartbeat.encode({
      agent_id: this.config.id, version: AGENT_VERSION, sent_ms: Date.now(), uptime_s: (Date.now() - this.startedMs) / 1000,
      queue_depth: s.queueDepth, spool_depth: s.spoolDepth, spool_bytes: s.spoolBytes, dropped: s.dropped, spool_full: s.spoolFull,
      last_error: this.lastError, collector_ms: { ...this.collectors.timingsMs }, host: this.host, interval_s: this.intervals.collect,
      heartbeat_interval_s: this.intervals.heartbeat, stopping,
    }).finish();
    nc.publish(subjects.heartbeat(this.config.id), hb);
  }

  private async connectLoop(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const credsFile = this.config.credsFile;
        const nc = await connect({
          servers: this.config.natsUrls, name: `soc-agent ${this.config.id}`,
          // Read at every (re)connect, so a rotated file is picked up.
          authenticator: credsFile ? credsAuthenticator(() => readFileSync(credsFile)) : undefined,
          // An enrolled agent may read replies only under its own inbox prefix.
          inboxPrefix: agentInboxPrefix(this.config.id),
          tls: natsTlsOptions({ caFile: this.config.natsCaFile, certFile: this.config.natsCertFile, keyFile: this.config.natsKeyFile }),
          maxReconnectAttempts: -1, reconnectTimeWait: 1000, pingInterval: 10_000, maxPingOut: 3, timeout: 5000,
        });
        if (this.stopped) { await nc.close(); return; }
        this.onConnected(nc);
        return;
      } catch (err) {
        this.noteError(`connect: ${errorMessage(err)}`);
        this.log.warn({ err: errorMessage(err), servers: this.config.natsUrls }, 'cannot reach NATS; retrying (telemetry is spooled meanwhile)');
        await sleep(backoffMs(++attempt, { baseMs: 500, maxMs: 10_000 }));
      }
    }
  }

  private onConnected(nc: NatsConnection): void {
    this.nc = nc;
    this.js = jetstream(nc, { timeout: this.config.publishTimeoutMs });
    const js = this.js;
    const online = () => {
      this.connected = true;
      this.shipper.attach(js, nc.info?.max_payload);
      this.heartbeat();
    };
    nc.subscribe(subjects.command(this.config.id), { callback: (err, msg) => { if (!err) this.onCommand(msg); } });
    this.track((async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') {
          this.connected = false;
          this.shipper.detach();
          this.log.warn('disconnected from NATS: spooling');
        } else if (s.type === 'reconnect') {
          this.log.info('reconnected to NATS: draining the spool');
          online();
        }
      }
    })());
    this.track(nc.closed().then((err) => {
      this.connected = false;
      this.shipper.detach();
      if (this.stopped) return;
      this.noteError(`connection closed: ${err ? errorMessage(err) : 'by the server'}`);
      this.track(this.connectLoop());
    }));
    online();
    this.log.info({ server: nc.getServer() }, 'connected to NATS');
  }

  /** Renews the credentials when due, then reconnects with them; a failure is reported and tried again next time. */
  private async renewIfDue(): Promise<void> {
    const credsFile = this.config.credsFile!;
    try {
      if (!renewalDue(await credentialsTimes(credsFile))) return;
      const { expiresAtMs } = await renewCredentials({ server: this.config.enrollServer!, credsFile, agentId: this.config.id, caFile: this.config.enrollCaFile });
      this.log.info({ expiresAt: new Date(expiresAtMs).toISOString() }, 'credentials renewed');
      await this.nc?.reconnect();
    } catch (err) {
      this.noteError(`renewing credentials: ${errorMessage(err)}`);
      this.log.warn({ err: errorMessage(err) }, 'cannot renew credentials');
    }
  }

  private commandContext(): CommandContext {
    return {
      agentId: this.config.id, version: AGENT_VERSION, outputMaxBytes: this.config.commandOutputMaxBytes, timeoutMs: this.config.commandTimeoutMs,
      credsFile: this.config.credsFile,
      collectNow: async () => {
        const events = await this.serialized(async () =>
          (await this.collect(this.collectors.activity())) + (await this.collect(this.collectors.resources()))) as number;
        return { events, processes: this.state.processes?.size ?? 0, sockets: (this.state.listening?.size ?? 0) + (this.state.connections?.size ?? 0) };
      },
      setInterval: (which, seconds) => {
        this.intervals[which] = seconds;
        const task = which === 'heartbeat' ? async () => this.heartbeat()
          : which === 'collect' ? () => this.serialized(() => this.collect(this.collectors.activity()))
            : () => this.serialized(() => this.collect(this.collectors.resources()));
        if (this.timers.has(which)) this.every(which, () => this.intervals[which] * 1000, task);
      },
      listProcesses: () => this.collectors.processes.list(),
      listSockets,
      processStart: (pid) => this.collectors.processes.startOf(pid),
      kill: (pid, signal) => process.kill(pid, signal),
      reloadCredentials: async () => {
        const path = this.config.credsFile!;
        let text: string;
        try { text = readFileSync(path, 'utf8'); } catch (err) { throw new CommandFailed(`cannot read ${path}: ${errorMessage(err)}`); }
        if (!text.includes('NATS USER JWT') || !text.includes('USER NKEY SEED')) throw new CommandFailed(`${path} is not a NATS credentials file`);
        // After this result had its chance to go out: the reconnect reads the file again.
        setTimeout(() => { void this.nc?.reconnect().catch((err: unknown) => this.noteError(`reconnect: ${errorMessage(err)}`)); }, 500);
        return `credentials re-read from ${path}; reconnecting with them`;
      },
    };
  }

  private onCommand(msg: Msg): void {
    try {
      const p = prepare(msg.data, this.commandContext());
      if (msg.reply) msg.respond(p.ack);
      // The service re-sends a command whose ack it did not get: answer again, but run it once.
      if (p.id && this.recentCommands.has(p.id)) return;
      if (p.id) {
        this.recentCommands.add(p.id);
        if (this.recentCommands.size > 1000) this.recentCommands.delete(this.recentCommands.values().next().value!);
      }
      this.log.info({ command: p.id }, 'command');
      this.track(p.result().then((r) => this.publishResult(r)));
    } catch (err) {
      // prepare() turns every bad command into a refusal; reaching here is a bug, which must not stop the agent.
      this.noteError(`command: ${errorMessage(err)}`);
      this.log.error({ err: errorMessage(err) }, 'command handling failed');
    }
  }

  /** Results go through JetStream with a dedup id, retried until they are stored or the agent stops. */
  private async publishResult(r: minisoc.ICommandResult): Promise<void> {
    if (this.pendingResults >= MAX_PENDING_RESULTS) {
      this.noteError(`command result ${r.command_id} dropped: ${MAX_PENDING_RESULTS} results already wait for JetStream`);
      return;
    }
    this.pendingResults++;
    const data = CommandResult.encode(r).finish();
    const msgID = `${this.config.id}:cmd:${r.command_id || `rejected-${randomUUID()}`}`;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        const js = this.js;
        if (js && this.connected) {
          try {
            await js.publish(subjects.commandResult(this.config.id), data, { msgID, timeout: this.config.publishTimeoutMs });
            return;
          } catch (err) {
            this.noteError(`command result ${r.command_id}: ${errorMessage(err)}`);
          }
        }
        await sleep(backoffMs(attempt + 1, { baseMs: 250, maxMs: 10_000 }));
      }
    } finally {
      this.pendingResults--;
    }
  }

  /** Stops collecting, spools what is queued, lets the spool drain briefly, closes the connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    // A collection under way adds its events; one stuck on a hung helper process must not hold up the stop.
    await Promise.race([this.serial, new Promise((r) => setTimeout(r, 5000))]);
    await this.shipper?.stop(this.o.drainOnStopMs ?? 2000);
    // drain() waits for the server, which may be the thing that is away.
    const nc = this.nc;
    if (nc && !nc.isClosed()) {
      // Goodbye last (drain flushes it): after it the monitor expects no more heartbeats.
      this.heartbeat(true);
      await Promise.race([nc.drain().catch(() => undefined), new Promise((r) => setTimeout(r, 2000))]);
      if (!nc.isClosed()) await nc.close();
    }
    await Promise.race([Promise.allSettled([...this.background]), new Promise((r) => setTimeout(r, 2000))]);
    this.unlock?.();
    this.log.info('agent stopped');
  }
}
