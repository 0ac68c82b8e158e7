// `soc simulate`: background traffic and attack scenarios sent to a running MiniSOC, paced in real time.
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../services/core/config.js';
import { ConfigError } from '../../services/core/errors.js';
import { createDb } from '../../services/core/db/index.js';
import { connectNats } from '../../services/core/nats.js';
import { natsTlsOptions } from '../../services/core/tls.js';
import { parseDurationMs } from '../../services/core/time.js';
import { runtimeFile, type Runtime } from '../local/runtime.js';
import { Engine, type StartedScenario } from './engine.js';
import { SCENARIOS, scenarioByName, type Scenario } from './scenarios.js';
import type { SourceId } from './formats.js';
import { simulatorSourceTokens } from './tokens.js';
import { HttpTarget, NatsTarget, SimulatorError, SplitTarget, StdoutTarget, type Target } from './targets.js';

export { SCENARIOS, RULES, C2_ADDRESSES } from './scenarios.js';
export type { Scenario } from './scenarios.js';

export interface SimulationOptions {
  /** Background events per second. */
  rate: number;
  /** Stop after this long (ms); undefined: until stop(). */
  durationMs?: number;
  seed: number;
  scenarios: Scenario[];
  firstAttackMs?: number;
  attackEveryMs: number;
  loop?: boolean;
  holdAttacks?: boolean;
  /** Where logs go: the base URL of the HTTP API, or 'nats' to publish RawBatch directly. */
  logs: { http: string; tokens?: Partial<Record<SourceId, string>> } | { nats: true } | { stdout: (s: string) => void };
  /** NATS for the fake agents (and logs when logs is 'nats'); without it there are no agents. */
  nc?: NatsConnection;
  /** Event time of the first record; default now. Fixed, with the seed it makes the output identical. */
  startMs?: number;
  /** Pace to the wall clock (default); false sends as fast as the target takes it (dry runs). */
  realtime?: boolean;
  heartbeatIntervalS?: number;
  onScenario?: (s: StartedScenario) => void;
}

export interface Simulation {
  readonly engine: Engine;
  /** Records handed to the target so far (logs, telemetry events and heartbeats). */
  readonly sent: () => number;
  release(): void;
  stop(): Promise<void>;
  /** Resolves when the run ends (duration reached or stop()), rejects when the target fails. */
  done: Promise<{ sent: number; scenarios: StartedScenario[] }>;
}

export function startSimulation(o: SimulationOptions): Simulation {
  const agents = !!o.nc;
  if (o.scenarios.some((s) => s.agents) && !agents) throw new ConfigError(`scenario ${o.scenarios.find((s) => s.agents)!.name} needs simulated agents: give a NATS connection (--nats-url, or a running soc up)`);
  const startMs = o.startMs ?? Date.now();
  const engine = new Engine({
    seed: o.seed, rate: o.rate, startMs, scenarios: o.scenarios, firstAttackMs: o.firstAttackMs ?? 2000, attackEveryMs: o.attackEveryMs,
    loop: o.loop ?? false, agents, heartbeatIntervalS: o.heartbeatIntervalS ?? 5, holdAttacks: o.holdAttacks,
  });
  const runId = `${o.seed}-${startMs}`;
  let target: Target;
  if ('stdout' in o.logs) target = new StdoutTarget(o.logs.stdout);
  else if ('nats' in o.logs) {
    if (!o.nc) throw new ConfigError('the nats target needs a NATS connection');
    target = new NatsTarget(o.nc, true, runId);
  } else {
    const http = new HttpTarget(o.logs.http, undefined, o.logs.tokens);
    target = o.nc ? new SplitTarget(http, new NatsTarget(o.nc, false, runId)) : http;
  }

  let sent = 0;
  let stopped = false;
  let reported = 0;
  const endMs = o.durationMs === undefined ? Infinity : startMs + o.durationMs;
  const realtime = o.realtime ?? true;
  const done = (async () => {
    while (!stopped && engine.nowMs < endMs) {
      const records = engine.tick();
      for (; reported < engine.started.length; reported++) o.onScenario?.(engine.started[reported]!);
      await target.send(records);
      sent += records.length;
      if (realtime) {
        const wait = engine.nowMs - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
    return { sent, scenarios: engine.started };
  })();
  return {
    engine, sent: () => sent, release: () => engine.release(),
    stop: async () => { stopped = true; await done.catch(() => undefined); },
    done,
  };
}

/** --scenario values: names, comma lists, `all` or `none`. */
export function selectScenarios(values: string[]): Scenario[] {
  const names = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);
  if (!names.length || names.includes('all')) return SCENARIOS;
  if (names.includes('none')) return [];
  return names.map((n) => {
    const s = scenarioByName(n);
    if (!s) throw new ConfigError(`--scenario: unknown scenario ${JSON.stringify(n)} (known: ${SCENARIOS.map((x) => x.name).join(', ')}, all, none)`);
    return s;
  });
}

function positive(what: string, v: string, integer = false): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n))) throw new ConfigError(`${what}: ${JSON.stringify(v)} must be a ${integer ? 'non-negative integer' : 'non-negative number'}`);
  return n;
}

export interface SimulateCliOptions {
  rate: string; duration?: string; seed: string; scenario: string[]; target: string; url?: string; natsUrl?: string;
  attackEvery: string; loop?: boolean; agents: boolean; dryRun?: boolean; start?: string; list?: boolean;
}

function runtime(): Partial<Runtime> {
  try {
    return JSON.parse(readFileSync(runtimeFile(loadConfig().DATA_DIR), 'utf8')) as Runtime;
  } catch {
    return {};
  }
}

/** The `soc simulate` action. */
export async function simulate(opts: SimulateCliOptions): Promise<void> {
  if (opts.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(20)} ${s.description}\n${' '.repeat(21)}rules: ${s.rules.join(', ')}\n`);
    return;
  }
  const rate = positive('--rate', opts.rate);
  const seed = positive('--seed', opts.seed, true);
  const durationMs = opts.duration ? parseDurationMs('--duration', opts.duration) : undefined;
  const attackEveryMs = parseDurationMs('--attack-every', opts.attackEvery);
  let scenarios = selectScenarios(opts.scenario);
  if (!['http', 'nats'].includes(opts.target)) throw new ConfigError(`--target: ${JSON.stringify(opts.target)} must be http or nats`);
  const startMs = opts.start ? Date.parse(opts.start) : undefined;
  if (opts.start && !Number.isFinite(startMs)) throw new ConfigError(`--start: ${JSON.stringify(opts.start)} is not an ISO time`);

  if (opts.dryRun) {
    if (durationMs === undefined) throw new ConfigError('--dry-run needs --duration (it prints every record of the run)');
    // Without agents a dry run has no NATS to talk to; agent scenarios are left out.
    const sim = startSimulation({ rate, durationMs, seed, scenarios: scenarios.filter((s) => !s.agents), attackEveryMs, loop: opts.loop, logs: { stdout: (s) => process.stdout.write(s) }, startMs, realtime: false });
    await sim.done;
    return;
  }

  const rt = runtime();
  const config = loadConfig();
  const httpUrl = opts.url ?? rt.httpUrl ?? `http://127.0.0.1:${config.HTTP_PORT}`;
  const natsUrl = opts.natsUrl ?? config.NATS_URL ?? rt.natsUrl;
  let nc: NatsConnection | undefined;
  if (opts.agents || opts.target === 'nats') {
    if (!natsUrl) {
      if (opts.target === 'nats') throw new ConfigError('--target nats: no NATS URL (set --nats-url or NATS_URL, or start soc up)');
      process.stderr.write('soc simulate: no NATS URL (--nats-url, NATS_URL or a running soc up): running without simulated agents\n');
    } else {
      // A running soc up's own NATS needs its backend credentials (and CA), which its runtime file names.
      const fromRuntime = !opts.natsUrl && !config.NATS_URL;
      nc = await connectNats({
        url: natsUrl, name: 'soc-simulate', credsFile: config.NATS_CREDS ?? (fromRuntime ? rt.natsCreds : undefined),
        tls: natsTlsOptions({ caFile: config.NATS_TLS_CA ?? (fromRuntime ? rt.natsTlsCa : undefined) }),
      });
    }
  }
  if (!nc && scenarios.some((s) => s.agents)) {
    process.stderr.write(`soc simulate: leaving out ${scenarios.filter((s) => s.agents).map((s) => s.name).join(', ')} (needs simulated agents)\n`);
    scenarios = scenarios.filter((s) => !s.agents);
  }
  // Posting to the running soc up (secure by default: ingest needs a token per source): the simulator's own
  // source tokens, kept in DATA_DIR and shared with --demo. Elsewhere it posts without tokens.
  let tokens: Partial<Record<SourceId, string>> | undefined;
  const databaseUrl = config.DATABASE_URL ?? rt.databaseUrl;
  if (opts.target === 'http' && httpUrl === rt.httpUrl && databaseUrl) {
    const db = createDb(databaseUrl, { max: 1 });
    try { tokens = await simulatorSourceTokens(db, config.DATA_DIR); } finally { await db.destroy(); }
  }
  const sim = startSimulation({
    rate, durationMs, seed, scenarios, attackEveryMs, loop: opts.loop, startMs, nc,
    logs: opts.target === 'nats' ? { nats: true } : { http: httpUrl, tokens },
    onScenario: (s) => process.stdout.write(`${new Date(s.atMs).toISOString()} scenario ${s.name} -> expect ${s.rules.join(', ')}\n`),
  });
  process.stdout.write(`soc simulate: ${rate} events/s to ${opts.target === 'nats' ? natsUrl : httpUrl}${nc ? `, ${sim.engine.world.linux.length} agents on ${natsUrl}` : ''}, seed ${seed}, `
    + `${scenarios.length ? `scenarios ${scenarios.map((s) => s.name).join(', ')} every ${attackEveryMs / 1000} s` : 'no scenarios'}${durationMs ? `, for ${durationMs / 1000} s` : ', until interrupted'}\n`);
  const stop = () => void sim.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await sim.done;
    process.stdout.write(`soc simulate: sent ${r.sent} records, ${r.scenarios.length} scenarios\n`);
  } catch (err) {
    if (err instanceof SimulatorError) {
      process.stderr.write(`soc simulate: ${err.message}\n`);
      process.exitCode = 1;
    } else throw err;
  } finally {
    await nc?.drain().catch(() => undefined);
  }
}
