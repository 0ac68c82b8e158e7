// The collectors of one agent, timed: what the host runs, listens on, talks to and uses.
import type { Snapshot } from '../snapshot.js';
import { HostCollector } from './host.js';
import { processCollector, type ProcessCollector } from './processes.js';
import { sampleResources } from './resources.js';
import { listSockets } from './sockets.js';

export class Collectors {
  readonly processes: ProcessCollector = processCollector();
  readonly host = new HostCollector();
  /** Duration of the last run of each collector, for the heartbeat. */
  readonly timingsMs: Record<string, number> = {};

  private async timed<T>(name: string, run: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      this.timingsMs[name] = Math.round((performance.now() - t0) * 10) / 10;
    }
  }

  /** Processes and sockets: the part that changes all the time. */
  async activity(): Promise<Snapshot> {
    const timeMs = Date.now();
    const [processes, sockets] = await Promise.all([
      this.timed('processes', () => this.processes.list()),
      this.timed('sockets', listSockets),
    ]);
    return { timeMs, processes, sockets };
  }

  /** Resource use and host facts; `refreshOs` also re-reads the OS release (full inventory). */
  async resources(refreshOs = false): Promise<Snapshot> {
    const timeMs = Date.now();
    if (refreshOs) await this.timed('os', () => this.host.refresh());
    const resources = await this.timed('resources', sampleResources);
    return { timeMs, resources, host: this.host.facts() };
  }

  /** Everything at once (`soc-agent collect --once`, the full inventory). */
  async all(): Promise<Snapshot> {
    const [a, r] = await Promise.all([this.activity(), this.resources(true)]);
    return { ...a, ...r, timeMs: a.timeMs };
  }
}
