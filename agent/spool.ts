// The disk spool: one file per encoded batch, written atomically and synced, size-capped, drained oldest first.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A spool operation failed on disk (full, read-only, I/O error). */
export class SpoolError extends Error {
  override name = 'SpoolError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

export interface SpoolEntry {
  seq: number;
  bytes: number;
}

const NAME = /^(\d{16})\.batch$/;
const fileName = (seq: number) => `${String(seq).padStart(16, '0')}.batch`;

/** Makes a rename or unlink in a directory durable. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the data itself is already synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes a file so that after a crash it is either absent or complete: temp file, fsync, rename, dir fsync. */
export function writeAtomic(dir: string, name: string, data: Uint8Array | string): void {
  const tmp = join(dir, `.${name}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  syncDir(dir);
}

export class Spool {
  private entries: SpoolEntry[] = [];
  private total = 0;
  /** Batches dropped to stay under the cap since start. */
  dropped = 0;
  /** Set when a batch had to be dropped, cleared once the spool is below 90 % of its cap. */
  full = false;
  /** The batch being published: never dropped from under the publisher. */
  private busy: number | undefined;

  constructor(readonly dir: string, readonly maxBytes: number) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const f of readdirSync(dir)) {
      const m = NAME.exec(f);
      if (m) {
        const bytes = statSync(join(dir, f)).size;
        this.entries.push({ seq: Number(m[1]), bytes });
        this.total += bytes;
      } else if (f.endsWith('.tmp')) {
        // A write that a crash interrupted: never renamed, so never acknowledged as spooled.
        unlinkSync(join(dir, f));
      }
    }
    this.entries.sort((a, b) => a.seq - b.seq);
  }

  get depth(): number { return this.entries.length; }
  get bytes(): number { return this.total; }
  /** Highest sequence on disk (0 when empty): the batch sequence continues above it. */
  get maxSeq(): number { return this.entries.length ? this.entries[this.entries.length - 1]!.seq : 0; }

  oldest(): SpoolEntry | undefined { return this.entries[0]; }

  /**
   * Adds a batch, first dropping the oldest batches (never the one being published) until it fits.
   * Returns the number of batches dropped. Throws SpoolError when the disk refuses the write.
   */
  write(seq: number, data: Uint8Array): number {
    let dropped = 0;
    while (this.total + data.length > this.maxBytes) {
      const victim = this.entries.find((e) => e.seq !== this.busy);
      if (!victim) break;
      this.remove(victim.seq);
      dropped++;
    }
    if (this.total + data.length > this.maxBytes) {
      // Larger than the whole spool (or only the batch in flight is left): it cannot be kept.
      dropped++;
      this.dropped += dropped;
      this.full = true;
      return dropped;
    }
    try {
      writeAtomic(this.dir, fileName(seq), data);
    } catch (err) {
      this.dropped += dropped;
      throw new SpoolError(`cannot write batch ${seq} to ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
    this.entries.push({ seq, bytes: data.length });
    if (this.entries.length > 1 && this.entries[this.entries.length - 2]!.seq > seq) this.entries.sort((a, b) => a.seq - b.seq);
    this.total += data.length;
    if (dropped) { this.dropped += dropped; this.full = true; }
    return dropped;
  }

  /** Reads a batch and marks it busy until remove() or release(). */
  take(seq: number): Uint8Array {
    this.busy = seq;
    try {
      return readFileSync(join(this.dir, fileName(seq)));
    } catch (err) {
      this.busy = undefined;
      throw new SpoolError(`cannot read spooled batch ${seq}: ${(err as Error).message}`, { cause: err });
    }
  }

  release(): void { this.busy = undefined; }

  /** Deletes a batch (acknowledged, or dropped). Already gone is fine. */
  remove(seq: number): void {
    const i = this.entries.findIndex((e) => e.seq === seq);
    if (i >= 0) {
      this.total -= this.entries[i]!.bytes;
      this.entries.splice(i, 1);
    }
    if (this.busy === seq) this.busy = undefined;
    try {
      unlinkSync(join(this.dir, fileName(seq)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SpoolError(`cannot delete spooled batch ${seq}: ${(err as Error).message}`, { cause: err });
    }
    if (this.full && this.total < this.maxBytes * 0.9) this.full = false;
  }

  /** Sequences on disk, oldest first (for tests and `soc-agent` diagnostics). */
  list(): SpoolEntry[] { return [...this.entries]; }
}

/**
 * The per-agent batch sequence, persisted so it keeps increasing across restarts (the stream
 * deduplicates by `<agentId>:<batchSeq>`, so a reused number would be taken for a duplicate).
 * Numbers are leased in blocks: one synced write per block, and a crash only skips numbers.
 */
export class BatchSequence {
  private next: number;
  private leasedTo: number;

  constructor(private readonly dir: string, floor: number, private readonly block = 1000) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    let stored = 0;
    try {
      stored = Number(readFileSync(join(dir, 'batch-seq'), 'utf8').trim()) || 0;
    } catch { /* first start */ }
    this.next = Math.max(stored, floor) + 1;
    this.leasedTo = this.next - 1;
  }

  take(): number {
    if (this.next > this.leasedTo) {
      this.leasedTo = this.next + this.block - 1;
      writeAtomic(this.dir, 'batch-seq', `${this.leasedTo}\n`);
    }
    return this.next++;
  }
}
