// The spool and the batch sequence on a real directory: atomic files, order, the size cap, restarts.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test/harness.js';
import { BatchSequence, Spool } from './spool.js';

const dirs: string[] = [];
function dir(): string {
  const d = tempDir('minisoc-agent-spool-');
  dirs.push(d);
  return d;
}
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('the spool', () => {
  it('keeps batches on disk in sequence order across a restart and forgets deleted ones', () => {
    const d = dir();
    const s = new Spool(d, 1024 * 1024);
    s.write(3, bytes(10, 3));
    s.write(1, bytes(20, 1));
    s.write(2, bytes(30, 2));
    s.remove(1);
    const again = new Spool(d, 1024 * 1024);
    expect(again.list()).toEqual([{ seq: 2, bytes: 30 }, { seq: 3, bytes: 10 }]);
    expect(again.bytes).toBe(40);
    expect(again.maxSeq).toBe(3);
    expect([...again.take(2)]).toEqual([...bytes(30, 2)]);
  });

  it('throws away a half-written temporary file left by a crash', () => {
    const d = dir();
    new Spool(d, 1024).write(1, bytes(5));
    writeFileSync(join(d, '.0000000000000002.batch.tmp'), 'partial');
    const s = new Spool(d, 1024);
    expect(s.list().map((e) => e.seq)).toEqual([1]);
    expect(readdirSync(d)).toEqual(['0000000000000001.batch']);
  });

  it('drops the oldest batches to stay under its cap, counts them and says it is full', () => {
    const s = new Spool(dir(), 1000);
    for (let i = 1; i <= 4; i++) expect(s.write(i, bytes(250))).toBe(0);
    expect(s.full).toBe(false);
    expect(s.write(5, bytes(300))).toBe(2);
    expect(s.list().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(s.bytes).toBe(800);
    expect(s.dropped).toBe(2);
    expect(s.full).toBe(true);
    s.remove(3);
    expect(s.full).toBe(false);
  });

  it('never drops the batch being published', () => {
    const s = new Spool(dir(), 1000);
    s.write(1, bytes(400));
    s.write(2, bytes(400));
    s.take(1);
    s.write(3, bytes(400));
    expect(s.list().map((e) => e.seq)).toEqual([1, 3]);
  });

  it('counts a batch larger than the whole spool as dropped instead of writing it', () => {
    const s = new Spool(dir(), 100);
    expect(s.write(1, bytes(101))).toBe(1);
    expect(s.depth).toBe(0);
    expect(s.dropped).toBe(1);
  });
});

describe('the batch sequence', () => {
  it('keeps increasing across restarts, even after a crash that skipped numbers', () => {
    const d = dir();
    const a = new BatchSequence(d, 0, 10);
    const first = [a.take(), a.take(), a.take()];
    expect(first).toEqual([1, 2, 3]);
    const b = new BatchSequence(d, 0, 10);
    const next = b.take();
    expect(next).toBeGreaterThan(3);
    for (let i = 0; i < 25; i++) b.take();
    expect(new BatchSequence(d, 0, 10).take()).toBeGreaterThan(next + 25);
  });

  it('starts above the newest spooled batch when its file is gone', () => {
    expect(new BatchSequence(dir(), 41).take()).toBe(42);
  });
});
