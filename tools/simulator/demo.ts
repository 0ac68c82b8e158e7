// `soc up --demo`: the simulator sending to the MiniSOC this process runs, with a threat-intel feed for its C2 addresses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Db } from '../../services/core/db/index.js';
import { ConfigError, ValidationError } from '../../services/core/errors.js';
import type { Logger } from '../../services/core/log.js';
import { addSource } from '../../services/ingest/sources.js';
import { SOURCES, type SourceId } from './formats.js';
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
  /** Ingest token of each source the demo posts as (demoSourceTokens). */
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

/**
 * A fresh token for each ingest source the demo posts as. Sources the demo made before get a new token (the
 * old one is not kept anywhere); a source of that name made by someone else is left alone, and the demo stops.
 */
export async function demoSourceTokens(db: Db): Promise<Partial<Record<SourceId, string>>> {
  const tokens: Partial<Record<SourceId, string>> = {};
  for (const [name, format] of Object.entries(SOURCES) as [SourceId, string][]) {
    const existing = await db.selectFrom('ingest_sources').select(['created_by', 'revoked_at']).where('name', '=', name).executeTakeFirst();
    if (existing && existing.created_by !== 'demo' && !existing.revoked_at) {
      throw new ConfigError(`--demo posts as ingest source ${name}, which ${existing.created_by} created: revoke it (soc sources revoke ${name}) or run the demo on another DATA_DIR`);
    }
    try {
      tokens[name] = await addSource(db, { name, format, createdBy: 'demo', rotate: true });
    } catch (err) {
      throw err instanceof ValidationError ? new ConfigError(`--demo: ${err.message}`, { cause: err }) : err;
    }
  }
  return tokens;
}

/** Starts background traffic and every scenario in a loop, a few seconds apart, until stop(). */
export function startDemo(o: DemoOptions): Demo {
  const simulation = startSimulation({
    rate: o.rate ?? 200, seed: o.seed ?? Date.now() % 1_000_000, scenarios: SCENARIOS, firstAttackMs: 3000, attackEveryMs: o.attackEveryMs ?? 4000,
    loop: true, logs: { http: o.httpUrl, tokens: o.tokens }, nc: o.nc,
    onScenario: (s) => o.log.info({ scenario: s.name, rules: s.rules }, 'demo attack'),
  });
  simulation.done.catch((err: unknown) => o.log.error({ err }, 'demo simulator stopped'));
  return { simulation, stop: () => simulation.stop() };
}
