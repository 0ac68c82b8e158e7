// The simulation timeline: background events at a steady rate, attack scenarios on a schedule, agent
// heartbeats, all in event time. Pure: the records of every tick follow from the options alone.
import { Background } from './background.js';
import type { HeartbeatRecord, SimRecord } from './formats.js';
import { Rng } from './random.js';
import type { Scenario, ScenarioRun } from './scenarios.js';
import { buildWorld, type LinuxHost, type World } from './world.js';

export interface EngineOptions {
  seed: number;
  /** Background events per second (attacks and heartbeats come on top). */
  rate: number;
  /** Event time of the first tick, Unix ms. */
  startMs: number;
  scenarios: Scenario[];
  /** Time from the start (or the release) to the first scenario, and between two scenario starts. */
  firstAttackMs: number;
  attackEveryMs: number;
  /** Run the scenario list again and again (the demo) instead of once. */
  loop: boolean;
  /** Simulated agents: heartbeats and telemetry (needs a NATS target). */
  agents: boolean;
  heartbeatIntervalS: number;
  /** Scenarios wait for release() (a test lets background traffic settle first). */
  holdAttacks?: boolean;
  tickMs?: number;
}

export interface StartedScenario { name: string; rules: string[]; atMs: number; silence?: ScenarioRun['silence'] }

export class Engine {
  readonly world: World;
  readonly tickMs: number;
  /** Scenarios begun so far, in order. */
  readonly started: StartedScenario[] = [];
  private readonly rng: Rng;
  private readonly background: Background;
  private readonly counters = { recordId: 1000, pid: 1200 };
  private tickNo = 0;
  private emitted = 0;
  private pending: SimRecord[] = [];
  private nextAttackMs: number | null;
  private scenarioNo = 0;
  private silences: NonNullable<ScenarioRun['silence']>[] = [];
  private readonly nextBeat = new Map<string, number>();

  constructor(private readonly o: EngineOptions) {
    this.rng = new Rng(o.seed);
    this.world = buildWorld(this.rng.fork());
    this.background = new Background(this.rng.fork(), this.world, this.counters, o.agents);
    this.tickMs = o.tickMs ?? 250;
    this.nextAttackMs = o.holdAttacks || !o.scenarios.length ? null : o.startMs + o.firstAttackMs;
    // Agents start their heartbeats spread over one interval, as real ones started at different times do.
    this.world.linux.forEach((a, i) => this.nextBeat.set(a.agentId, o.startMs + Math.floor((i * o.heartbeatIntervalS * 1000) / this.world.linux.length)));
  }

  /** Event time at the start of the next tick. */
  get nowMs(): number {
    return this.o.startMs + this.tickNo * this.tickMs;
  }

  /** Lets held scenarios begin (at the next tick plus firstAttackMs). */
  release(): void {
    if (this.nextAttackMs === null && this.o.scenarios.length) this.nextAttackMs = this.nowMs + this.o.firstAttackMs;
  }

  /** True when every scenario of a run-once list has begun and its records are out. */
  get attacksDone(): boolean {
    return !this.o.loop && this.scenarioNo >= this.o.scenarios.length && this.pending.length === 0;
  }

  private silent(agent: LinuxHost, ts: number): boolean {
    return this.silences.some((s) => s.agent.agentId === agent.agentId && ts >= s.fromMs && ts < s.untilMs);
  }

  /** The records of the next tick, in time order. */
  tick(): SimRecord[] {
    const from = this.nowMs;
    const to = from + this.tickMs;
    this.tickNo++;
    const out: SimRecord[] = [];

    // Background: a running total, so fractional rates come out right over time.
    const due = Math.floor(((to - this.o.startMs) / 1000) * this.o.rate);
    const n = due - this.emitted;
    for (let i = 0; i < n; i++) out.push(this.background.next(from + Math.floor((i * this.tickMs) / n)));
    this.emitted = due;

    while (this.nextAttackMs !== null && this.nextAttackMs < to) {
      const s = this.o.scenarios[this.scenarioNo % this.o.scenarios.length]!;
      const run = s.run({ rng: this.rng.fork(), world: this.world, startMs: this.nextAttackMs, counters: this.counters });
      this.pending.push(...run.records);
      if (run.silence) this.silences.push(run.silence);
      this.started.push({ name: s.name, rules: s.rules, atMs: this.nextAttackMs, silence: run.silence });
      this.scenarioNo++;
      this.nextAttackMs = this.o.loop || this.scenarioNo < this.o.scenarios.length ? this.nextAttackMs + this.o.attackEveryMs : null;
    }
    const now = this.pending.filter((r) => r.ts < to);
    this.pending = this.pending.filter((r) => r.ts >= to);
    out.push(...now);

    if (this.o.agents) {
      for (const agent of this.world.linux) {
        let at = this.nextBeat.get(agent.agentId)!;
        while (at < to) {
          if (!this.silent(agent, at)) {
            const beat: HeartbeatRecord = { kind: 'heartbeat', ts: at, agent, intervalS: this.o.heartbeatIntervalS, uptimeS: 86_400 + (at - this.o.startMs) / 1000 };
            out.push(beat);
          }
          at += this.o.heartbeatIntervalS * 1000;
        }
        this.nextBeat.set(agent.agentId, at);
      }
    }
    this.silences = this.silences.filter((s) => s.untilMs > from);
    return out
      .filter((r) => r.kind === 'log' || !this.silent(r.agent, r.ts))
      .sort((a, b) => a.ts - b.ts);
  }
}
