// Batches events, spools each batch before publishing it, and publishes in order with a dedup id per batch.
import type { JetStreamClient } from '@nats-io/jetstream';
import { errorMessage } from '../services/core/errors.js';
import type { Logger } from '../services/core/log.js';
import { TelemetryBatch, type Event, type minisoc } from '../services/core/proto.js';
import { subjects } from '../services/core/topology.js';
import { SpoolError, type BatchSequence, type Spool } from './spool.js';
import { backoffMs } from '../services/core/backoff.js';

export interface ShipperOptions {
  agentId: string;
  spool: Spool;
  sequence: BatchSequence;
  batchMaxEvents: number;
  batchMaxAgeMs: number;
  batchMaxBytes: number;
  publishTimeoutMs: number;
  /** Batches held in memory while the disk refuses them; beyond this the oldest is dropped and counted. */
  memoryMaxBatches?: number;
  log: Logger;
  /** Told of every failure, for the heartbeat's last_error. */
  onError?(message: string): void;
}

export interface ShipperStats {
  /** Events waiting to be cut into a batch. */
  queueDepth: number;
  spoolDepth: number;
  spoolBytes: number;
  spoolFull: boolean;
  /** Batches lost since start: dropped from a full spool, or unwritable and unsendable. */
  dropped: number;
  /** Batches acknowledged by JetStream since start. */
  published: number;
  lastError: string;
}

interface Pending { seq: number; data?: Uint8Array }

export class Shipper {
  private queue: Event[] = [];
  private host: minisoc.IHost | undefined;
  private ageTimer: NodeJS.Timeout | undefined;
  private js: JetStreamClient | undefined;
  private maxBytes: number;
  /** Batches the spool could not take (disk full or broken), sent from memory in sequence order. */
  private memory: { seq: number; data: Uint8Array }[] = [];
  private lostInMemory = 0;
  private pumping: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  private stopping = false;
  private published = 0;
  lastError = '';

  constructor(private readonly o: ShipperOptions) {
    this.maxBytes = o.batchMaxBytes;
  }

  /** Queues events; a batch is cut when it is full or its first event is batchMaxAgeMs old. */
  push(events: Event[]): void {
    if (this.stopping) return;
    for (const e of events) {
      this.queue.push(e);
      if (this.queue.length >= this.o.batchMaxEvents) this.cut();
    }
    this.arm();
  }

  /**
   * Host facts go with every batch (a few hundred bytes), so each batch can be read on its own: rules
   * select agent data by host.os.family. A change is sent at once, even without events.
   */
  setHost(host: minisoc.IHost): void {
    this.host = host;
    this.hostChanged = true;
    this.arm();
  }

  private hostChanged = false;

  private arm(): void {
    if (!this.ageTimer && (this.queue.length || this.hostChanged)) this.ageTimer = setTimeout(() => this.cut(), this.o.batchMaxAgeMs);
  }

  /** Cuts the queued events into a batch and spools it now. */
  cut(): void {
    if (this.ageTimer) { clearTimeout(this.ageTimer); this.ageTimer = undefined; }
    if (!this.queue.length && !this.hostChanged) return;
    const events = this.queue;
    this.queue = [];
    this.hostChanged = false;
    this.encode(events, this.host);
    this.kick();
  }

  /** Encodes a batch, halving it while it is over the byte limit (each half gets its own sequence). */
  private encode(events: Event[], host: minisoc.IHost | undefined): void {
    const seq = this.o.sequence.take();
    const data = TelemetryBatch.encode({ agent_id: this.o.agentId, batch_seq: seq, created_ms: Date.now(), events, host }).finish();
    if (data.length > this.maxBytes) {
      if (events.length > 1) {
        const half = Math.ceil(events.length / 2);
        this.encode(events.slice(0, half), host);
        this.encode(events.slice(half), host);
        return;
      }
      // One event over the limit would be refused by the server forever and block every batch behind it.
      this.lostInMemory++;
      this.fail(`an event of ${data.length} bytes is over the batch limit of ${this.maxBytes} bytes and was dropped`);
      return;
    }
    this.store(seq, data);
  }

  private store(seq: number, data: Uint8Array): void {
    try {
      const dropped = this.o.spool.write(seq, data);
      if (dropped) this.fail(`spool full (${this.o.spool.maxBytes} bytes): dropped ${dropped} batch(es), oldest first`);
    } catch (err) {
      if (!(err instanceof SpoolError)) throw err;
      this.fail(err.message);
      this.memory.push({ seq, data });
      const max = this.o.memoryMaxBatches ?? 64;
      while (this.memory.length > max) {
        this.memory.shift();
        this.lostInMemory++;
      }
    }
  }

  private fail(message: string): void {
    this.lastError = message;
    this.o.log.warn({ err: message }, 'telemetry');
    this.o.onError?.(message);
  }

  /** The connection is up: publish from now on (spooled batches first). */
  attach(js: JetStreamClient, serverMaxPayload?: number): void {
    this.js = js;
    // Keep room for headers under the server's limit.
    this.maxBytes = serverMaxPayload ? Math.min(this.o.batchMaxBytes, serverMaxPayload - 4096) : this.o.batchMaxBytes;
    this.failures = 0;
    this.wake?.();
    this.kick();
  }

  /** The connection is down: batches stay in the spool until attach(). */
  detach(): void {
    this.js = undefined;
  }

  get online(): boolean { return this.js !== undefined; }

  private kick(): void {
    this.pumping ??= this.pump().finally(() => { this.pumping = undefined; });
  }

  private next(): Pending | undefined {
    const s = this.o.spool.oldest();
    const m = this.memory[0];
    if (s && (!m || s.seq < m.seq)) return { seq: s.seq };
    return m;
  }

  private async pump(): Promise<void> {
    for (;;) {
      const js = this.js;
      const item = this.next();
      if (!js || !item || this.stopping) return;
      let data: Uint8Array;
      try {
        data = item.data ?? this.o.spool.take(item.seq);
      } catch (err) {
        // A spooled file nothing can read again: counting it lost beats blocking every batch behind it.
        this.fail(errorMessage(err));
        this.o.spool.remove(item.seq);
        this.lostInMemory++;
        continue;
      }
      if (data.length > this.maxBytes) {
        this.resplit(item, data);
        continue;
      }
      try {
        await js.publish(subjects.telemetry(this.o.agentId), data, { msgID: `${this.o.agentId}:${item.seq}`, timeout: this.o.publishTimeoutMs });
        if (item.data) this.memory.shift();
        else this.o.spool.remove(item.seq);
        this.published++;
        this.failures = 0;
      } catch (err) {
        if (!item.data) this.o.spool.release();
        this.fail(`publish of batch ${item.seq} failed: ${errorMessage(err)}`);
        await this.sleep(backoffMs(++this.failures, { baseMs: 250, maxMs: 10_000 }));
      }
    }
  }

  /** A spooled batch over the server's payload limit (configured lower since): split it into new batches. */
  private resplit(item: Pending, data: Uint8Array): void {
    const batch = TelemetryBatch.decode(data);
    this.o.log.warn({ seq: item.seq, bytes: data.length, limit: this.maxBytes }, 'spooled batch over the server payload limit: split into new batches');
    this.encode(batch.events as Event[], batch.host ?? undefined);
    if (item.data) this.memory.shift();
    else this.o.spool.remove(item.seq);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(t); this.wake = undefined; resolve(); };
      const t = setTimeout(done, ms);
      this.wake = done;
    });
  }

  stats(): ShipperStats {
    return {
      queueDepth: this.queue.length, spoolDepth: this.o.spool.depth + this.memory.length, spoolBytes: this.o.spool.bytes,
      spoolFull: this.o.spool.full, dropped: this.o.spool.dropped + this.lostInMemory, published: this.published, lastError: this.lastError,
    };
  }

  /**
   * Cuts what is queued into the spool (so a clean stop loses nothing), gives the publisher up to
   * `drainMs` to empty the spool, then stops it.
   */
  async stop(drainMs = 0): Promise<void> {
    this.cut();
    const deadline = Date.now() + drainMs;
    while (this.js && this.next() && Date.now() < deadline) {
      this.kick();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopping = true;
    this.wake?.();
    await this.pumping;
    if (this.memory.length) this.o.log.error({ batches: this.memory.length }, 'batches the spool could not take are lost at stop');
  }
}
