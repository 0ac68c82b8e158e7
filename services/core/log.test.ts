// soc up's terminal output: service log lines made readable for a person, JSON kept for machines.
import { afterEach, describe, expect, it } from 'vitest';
import { lineFormatter } from './log.js';

const saved = process.env.LOG_FORMAT;
afterEach(() => { if (saved === undefined) delete process.env.LOG_FORMAT; else process.env.LOG_FORMAT = saved; });

describe('lineFormatter', () => {
  it('turns a service JSON line into level, service and message, and leaves other lines alone', () => {
    process.env.LOG_FORMAT = 'pretty';
    const format = lineFormatter()!;
    const out = format(JSON.stringify({ level: 40, time: Date.UTC(2026, 11, 2, 10, 0, 0), name: 'normalize', msg: 'stage restarted', pid: 1, hostname: 'h' }))
      .replace(/\x1b\[[0-9;]*m/g, '');
    expect(out).toMatch(/WARN.*\(normalize\): stage restarted/);
    expect(out).not.toContain('hostname');
    expect(format('nats-server: ready')).toBe('nats-server: ready');
  });

  it('keeps JSON when asked to, whatever the terminal', () => {
    process.env.LOG_FORMAT = 'json';
    expect(lineFormatter()).toBeUndefined();
  });
});
