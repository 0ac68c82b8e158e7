// `soc-agent collect --once --json` on this machine against ps and ss, and the command line itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../test/harness.js';

const MAIN = join(ROOT, 'dist', 'agent', 'main.js');
const EXE = join(ROOT, 'dist', 'agent', 'soc-agent');

interface Collected {
  processes: { pid: number; start: string; name: string; kernel: boolean }[];
  listening: { transport: string; localIp: string; localPort: number }[];
  connections: unknown[];
  host: { hostname: string; osName: string; kernel: string; ips: string[] };
  resources: { cpuUsage: number; memoryTotal: number; diskUsage: number };
}

function collect(cmd: string[]): Collected {
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'collect', '--once', '--json'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Collected;
}

function psCount(): number {
  return execFileSync('ps', ['-e', '--no-headers'], { encoding: 'utf8' }).trim().split('\n').length;
}

/** `ss -ltnH` listening TCP sockets as ip:port, with ss's address forms undone by hand. */
function ssListening(): Set<string> {
  const out = new Set<string>();
  for (const line of execFileSync('ss', ['-ltnH'], { encoding: 'utf8' }).trim().split('\n')) {
    const local = line.trim().split(/\s+/)[3]!;
    const colon = local.lastIndexOf(':');
    let ip = local.slice(0, colon).replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    if (ip === '*') ip = '::';
    out.add(`${ip}:${local.slice(colon + 1)}`);
  }
  return out;
}

function check(cmd: string[]): void {
  const psBefore = psCount();
  const ssBefore = ssListening();
  const got = collect(cmd);
  const psAfter = psCount();
  const ssAfter = ssListening();
  // ps counts itself; other work on the machine starts and ends processes meanwhile.
  expect(got.processes.length).toBeGreaterThanOrEqual(Math.min(psBefore, psAfter) - 5);
  expect(got.processes.length).toBeLessThanOrEqual(Math.max(psBefore, psAfter) + 5);
  expect(got.processes.find((p) => p.pid === 1)).toBeDefined();
  expect(got.processes.every((p) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(p.start))).toBe(true);
  const ports = new Set(got.listening.filter((s) => s.transport === 'tcp').map((s) => `${s.localIp}:${s.localPort}`));
  // Sockets present before and after must be listed; everything listed must have been seen by ss.
  const stable = [...ssBefore].filter((p) => ssAfter.has(p));
  expect(stable.filter((p) => !ports.has(p))).toEqual([]);
  expect([...ports].filter((p) => !ssBefore.has(p) && !ssAfter.has(p))).toEqual([]);
  expect(got.host.hostname).not.toBe('');
  expect(got.host.kernel).not.toBe('');
  expect(got.resources.memoryTotal).toBeGreaterThan(0);
}

describe('soc-agent collect --once --json', () => {
  it('lists as many processes as ps -e and the same listening TCP ports as ss -ltn', () => {
    check([process.execPath, MAIN]);
  });

  it.skipIf(!existsSync(EXE))('gives the same from the single executable built by tools/build-agent.mjs', () => {
    check([EXE]);
  });
});

describe('the soc-agent command line', () => {
  it('explains itself with --help and --version', () => {
    const help = execFileSync(process.execPath, [MAIN, '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/run \[options\]/);
    expect(help).toMatch(/collect \[options\]/);
    expect(execFileSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('stops at start with exit code 2 and a message naming a bad setting', () => {
    const r = spawnSync(process.execPath, [MAIN, 'run'], { encoding: 'utf8', env: { ...process.env, SOC_AGENT_COLLECT_INTERVAL_S: '0' } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('collectIntervalS from SOC_AGENT_COLLECT_INTERVAL_S = "0"');
  });
});
