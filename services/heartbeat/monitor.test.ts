import { describe, expect, it } from 'vitest';
import type { minisoc } from '../core/proto.js';
import { applyHeartbeat, evaluate, reassess, type AgentState, type MonitorSettings } from './monitor.js';

const S: MonitorSettings = { defaultIntervalS: 10, missedOffline: 3, maxSkewMs: 30_000, degradedHoldMs: 120_000 };
const T0 = Date.UTC(2026, 10, 22, 12, 0, 0);

function hb(over: Partial<minisoc.IHeartbeat> = {}, sentMs = T0): minisoc.IHeartbeat {
  return {
    agent_id: 'a1', version: '0.1.0', sent_ms: sentMs, uptime_s: 100, heartbeat_interval_s: 10,
    host: { hostname: 'web-1', ip: ['10.0.0.5'], os_name: 'Debian', os_version: '12' }, ...over,
  };
}

function seen(times: number[], over: (i: number) => Partial<minisoc.IHeartbeat> = () => ({})): AgentState {
  let s: AgentState | undefined;
  times.forEach((t, i) => { s = applyHeartbeat(s, hb({ uptime_s: 100 + i * 10, ...over(i) }, t), t, S); });
  return s!;
}

describe('agent health', () => {
  it('is online after a heartbeat and offline after three intervals without one, whatever it said before', () => {
    const a = seen([T0]);
    expect(a).toMatchObject({ hostname: 'web-1', os: 'Debian 12', ips: ['10.0.0.5'], intervalS: 10, firstSeenMs: T0, lastSeenMs: T0 });
    expect(evaluate(a, T0 + 1000, S).status).toBe('online');
    expect(evaluate(a, T0 + 30_000, S).status).toBe('online');
    const off = evaluate(a, T0 + 30_001, S);
    expect(off.status).toBe('offline');
    expect(off.reason).toContain('no heartbeat for 30 s');
  });

  it('uses the interval the agent states, and the default when it states none', () => {
    const fast = seen([T0], () => ({ heartbeat_interval_s: 1 }));
    expect(evaluate(fast, T0 + 3500, S).status).toBe('offline');
    const silent = seen([T0], () => ({ heartbeat_interval_s: 0 }));
    expect(silent.intervalS).toBe(10);
    expect(evaluate(silent, T0 + 29_000, S).status).toBe('online');
  });

  it('is degraded with the reason while drops are recent, the spool is full, the clock is off or errors are fresh', () => {
    const drops = seen([T0, T0 + 10_000], (i) => ({ dropped: i }));
    expect(evaluate(drops, T0 + 11_000, S)).toEqual({ status: 'degraded', reason: 'dropped 1 batches' });
    // Drops long ago no longer degrade, while the count stays where it is.
    const later = applyHeartbeat(drops, hb({ dropped: 1, uptime_s: 500 }, T0 + 200_000), T0 + 200_000, S);
    expect(evaluate(later, T0 + 200_500, S).status).toBe('online');

    expect(evaluate(seen([T0], () => ({ spool_full: true, spool_depth: 12, spool_bytes: 4096 })), T0, S).reason).toBe('spool full (12 batches, 4096 bytes)');
    const skewed = applyHeartbeat(undefined, hb({}, T0 + 45_000), T0, S);
    expect(evaluate(skewed, T0, S)).toEqual({ status: 'degraded', reason: 'clock skew 45 s' });

    const err = seen([T0], () => ({ last_error: `${new Date(T0 - 5000).toISOString()} processes: EACCES` }));
    expect(err.lastErrorAtMs).toBe(T0 - 5000);
    expect(evaluate(err, T0 + 1000, S)).toEqual({ status: 'degraded', reason: 'error: processes: EACCES' });
    expect(evaluate(applyHeartbeat(err, hb({ last_error: err.lastError, uptime_s: 300 }, T0 + 130_000), T0 + 130_000, S), T0 + 130_000, S).status).toBe('online');
  });

  it('starts counting drops again when the agent restarted', () => {
    const a = seen([T0, T0 + 10_000], (i) => ({ dropped: i * 3 }));
    const restarted = applyHeartbeat(a, hb({ dropped: 0, uptime_s: 2 }, T0 + 20_000), T0 + 20_000, S);
    expect(restarted.droppedAtMs).toBe(0);
    expect(evaluate(restarted, T0 + 20_000, S).status).toBe('online');
  });

  it('ignores a heartbeat older than the one it knows (a replay after a restart)', () => {
    const a = seen([T0 + 10_000]);
    expect(applyHeartbeat(a, hb({ version: 'old' }, T0), T0, S)).toBe(a);
  });

  it('reports a change once, keeps first sight quiet, and does not re-report an offline agent as time passes', () => {
    const a = seen([T0]);
    expect(a.status).toBe('unknown');
    expect(reassess(a, T0 + 500, S)).toEqual({ agent: a, previous: 'unknown' });
    expect(a.status).toBe('online');
    expect(reassess(a, T0 + 1000, S)).toBeUndefined();
    const t = reassess(a, T0 + 31_000, S);
    expect(t?.previous).toBe('online');
    expect(a).toMatchObject({ status: 'offline', changedMs: T0 + 31_000 });
    expect(reassess(a, T0 + 60_000, S)).toBeUndefined();
  });

  it('resumes from its saved state without a change when the agent kept sending meanwhile', () => {
    const a = seen([T0]);
    reassess(a, T0, S);
    const saved = JSON.parse(JSON.stringify(a)) as AgentState;
    // The monitor was down for 20 s; the latest heartbeat JetStream kept is 2 s old.
    const resumed = applyHeartbeat(saved, hb({ uptime_s: 120 }, T0 + 18_000), T0 + 18_000, S);
    expect(reassess(resumed, T0 + 20_000, S)).toBeUndefined();
    expect(resumed.status).toBe('online');
  });

  it('shows an agent that said goodbye as stopped however long it stays silent, and online when it is back', () => {
    const a = seen([T0]);
    reassess(a, T0, S);
    const bye = applyHeartbeat(a, hb({ uptime_s: 200, stopping: true }, T0 + 5000), T0 + 5000, S);
    expect(reassess(bye, T0 + 5500, S)).toMatchObject({ previous: 'online', agent: { status: 'stopped' } });
    expect(reassess(bye, T0 + 3_600_000, S)).toBeUndefined();
    expect(bye.status).toBe('stopped');
    const back = applyHeartbeat(bye, hb({ uptime_s: 1 }, T0 + 3_600_000), T0 + 3_600_000, S);
    expect(reassess(back, T0 + 3_600_500, S)).toMatchObject({ previous: 'stopped', agent: { status: 'online' } });
  });

  it('gives every agent its full allowance after the monitor starts listening again (a server restart)', () => {
    const a = seen([T0]);
    reassess(a, T0, S);
    // Everything was down for 60 s; the monitor listens again at T0 + 60 s.
    expect(reassess(a, T0 + 61_000, S, T0 + 60_000)).toBeUndefined();
    expect(reassess(a, T0 + 90_000, S, T0 + 60_000)).toBeUndefined();
    const back = applyHeartbeat(a, hb({ uptime_s: 200 }, T0 + 75_000), T0 + 75_000, S);
    expect(reassess(back, T0 + 76_000, S, T0 + 60_000)).toBeUndefined();
    // One that does not come back within its allowance is offline, with its real silence as the reason.
    const gone = seen([T0]);
    reassess(gone, T0, S);
    const t = reassess(gone, T0 + 90_001, S, T0 + 60_000);
    expect(t?.agent).toMatchObject({ status: 'offline' });
    expect(t?.agent.reason).toContain('no heartbeat for 90 s');
  });
});
