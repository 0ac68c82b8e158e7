// `soc up --demo`: the simulator sending to the MiniSOC this process runs, with a threat-intel feed for its C2 addresses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../../services/core/log.js';
import type { SourceId } from './formats.js';
import { startSimulation, type Simulation } from './index.js';
import { C2_ADDRESSES, SCENARIOS } from './scenarios.js';

export interface DemoOptions {
  /** Base URL of the running HTTP API. */
  httpUrl: string;
  /** For the simulated agents. */
  nc: NatsConnection;
  log: Logger;
  /** Background events per second (default 200). */
  rate?: number;
  /** Time between two attack scenarios (default 4 s). */
  attackEveryMs?: number;
  seed?: number;
  /** Ingest token of each source the demo posts as (simulatorSourceTokens). */
  tokens?: Partial<Record<SourceId, string>>;
}

export interface Demo {
  simulation: Simulation;
  stop(): Promise<void>;
}

/**
 * Writes a feeds file naming the simulator's C2 addresses, for INTEL_FEEDS_FILE: the demo's beacons then
 * carry threat.indicator.* from enrich, as with a real feed. Returns the feeds file's path.
 */
export function writeDemoIntelFeeds(dataDir: string): string {
  const dir = join(dataDir, 'demo');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'c2.txt'), `# Feodo Tracker C2 addresses (abuse.ch, 2015 snapshot via FireHOL) used by soc simulate\n${C2_ADDRESSES.join('\n')}\n`);
  const file = join(dir, 'intel-feeds.yaml');
  writeFileSync(file, [
    'feeds:',
    '  - name: demo-feodo',
    '    path: c2.txt',
    '    format: ip',
    '    confidence: 90',
    '    tags: [c2, malicious-ip]',
    '    description: Feodo Tracker C2 addresses the MiniSOC simulator beacons to',
    '',
  ].join('\n'));
  return file;
}

/** Starts background traffic and every scenario in a loop, a few seconds apart, until stop(). */
export function startDemo(o: DemoOptions): Demo {
  const simulation = startSimulation({
    rate: o.rate ?? 200, seed: o.seed ?? Date.now() % 1_000_000, scenarios: SCENARIOS, firstAttackMs: 3000, attackEveryMs: o.attackEveryMs ?? 4000,
    loop: true, logs: { http: o.httpUrl, tokens: o.tokens }, nc: o.nc,
    // One line per attack only when debugging: the demo runs for hours.
    onScenario: (s) => o.log.debug({ scenario: s.name, rules: s.rules }, 'demo attack'),
  });
  simulation.done.catch((err: unknown) => o.log.error({ err }, 'demo simulator stopped'));
  return { simulation, stop: () => simulation.stop() };
}
