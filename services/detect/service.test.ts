// The detect service's rebuild scheduling: a burst of changes costs one rebuild, a steady stream still gets one within
// the longest wait, and never two rebuilds run at once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { serialDebounce } from './service.js';

beforeEach(() => { vi.useFakeTimers(); });
afterEach(() => { vi.useRealTimers(); });

describe('serialDebounce', () => {
  it('runs once for a burst of requests, after the quiet time', async () => {
    let runs = 0;
    const r = serialDebounce(() => { runs++; }, 300, 2000);
    for (let i = 0; i < 10; i++) { r.request(); await vi.advanceTimersByTimeAsync(50); }
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(300);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(1);
  });

  it('runs within the longest wait while requests keep coming', async () => {
    const at: number[] = [];
    const start = Date.now();
    const r = serialDebounce(() => { at.push(Date.now() - start); }, 300, 2000);
    for (let t = 0; t < 5000; t += 100) { r.request(); await vi.advanceTimersByTimeAsync(100); }
    expect(at.length).toBeGreaterThanOrEqual(2);
    expect(at[0]).toBeLessThanOrEqual(2000);
    r.close();
  });

  it('never overlaps two runs: requests during a run make one more run after it', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const r = serialDebounce(async () => {
      running++;
      most = Math.max(most, running);
      runs++;
      await new Promise((res) => setTimeout(res, 1000));
      running--;
    }, 100, 500);
    r.request();
    await vi.advanceTimersByTimeAsync(150);
    expect(running).toBe(1);
    for (let i = 0; i < 5; i++) { r.request(); await vi.advanceTimersByTimeAsync(150); }
    await vi.advanceTimersByTimeAsync(5000);
    expect(most).toBe(1);
    expect(runs).toBe(2);
  });

  it('does nothing once closed', async () => {
    let runs = 0;
    const r = serialDebounce(() => { runs++; }, 300, 2000);
    r.request();
    r.close();
    r.request();
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toBe(0);
  });
});
