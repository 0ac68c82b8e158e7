// The stage runner: the only code that touches JetStream messages for a pipeline stage.
import { jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { backoffMs, sleep } from './backoff.js';
import { DeadLetter } from './proto.js';
import { DecodeError, TransientError, errorMessage, isPoison } from './errors.js';
import type { Logger } from './log.js';
import { stageMetrics } from './metrics.js';
import { consumerSpec, ensureConsumer, lagOf, subjects, type StreamName } from './topology.js';

/** What the runner knows about the message a stage is handling. */
export interface MessageMeta {
  stage: string;
  stream: StreamName;
  subject: string;
  /** Stream sequence: stable across redeliveries, so ids built from it are deterministic. */
  seq: number;
  /** Base-36 creation time of the stream: keeps ids unique if a stream is ever recreated. */
  streamEpoch: string;
  /** JetStream deliveries of this message so far (1 the first time); more means a stage crashed or stalled on it. */
  deliveryCount: number;
  /** This process's attempt at handling it (1 the first time; retries after errors count up). */
  attempt: number;
  log: Logger;
}

/** A message to publish downstream. Its Nats-Msg-Id is `<stage>:<stream>:<seq>[:<key>]`. */
export interface Output {
  subject: string;
  data: Uint8Array;
  /** Tells apart several outputs of one input message. */
  key?: string;
}

export interface Stage<T> {
  /** Names the service, its durable consumer and its dead-letter subject. */
  name: string;
  stream: StreamName;
  /** Turns the wire payload into the stage's input; throws DecodeError when it never can. */
  decode(data: Uint8Array): T;
  /** Number of events or records in an input, for metrics. */
  size?(input: T): number;
  /**
   * Produces the outputs for one input. ValidationError/DecodeError dead-letter the message,
   * TransientError retries it for as long as it takes, any other error retries a few times first.
   */
  handle(input: T, meta: MessageMeta): Output[] | Promise<Output[]>;
}

export interface RunnerOptions {
  /** Batches processed at once; no more than this many are ever fetched and not yet finished. */
  maxInFlight: number;
  /** Ceiling of the delay between two attempts after a failure. */
  maxBackoffMs: number;
  /**
   * The poison rule: a message delivered more than this many times crashed or stalled the stage that
   * often (transient errors are retried in process and do not count), so it is dead-lettered. Default 5.
   */
  maxDeliveries?: number;
  /** Unexpected (non-transient) errors are tried this many times in process before dead-lettering. Default 5. */
  maxAttempts?: number;
  /** Redelivery delay of a message whose handler died (the durable consumer's ack_wait). */
  ackWaitMs: number;
  /** How long one pull waits for messages before asking again (at least 1000, the client's floor). */
  fetchExpiresMs?: number;
  /** How often the consumer's lag is read for /metrics. */
  lagIntervalMs?: number;
  log: Logger;
}

/** Wraps a protobuf decode so any failure is a DecodeError naming what was expected (dead-lettered). */
export function decoder<T>(decode: (b: Uint8Array) => T, what: string): (b: Uint8Array) => T {
  return (b) => {
    try {
      return decode(b);
    } catch (err) {
      throw new DecodeError(`not a ${what}: ${errorMessage(err)}`, { cause: err });
    }
  };
}

/** Builds the dead letter of a whole message or of one record inside it. */
export function deadLetterOutput(meta: Pick<MessageMeta, 'stage' | 'stream' | 'subject' | 'seq'>, err: unknown, payload: Uint8Array, recordIndex = -1, sourceId = ''): Output {
  // A dead letter that the dead-letter stage itself cannot take would come back to it for ever: it is parked.
  const subject = meta.stream === 'DLQ' ? subjects.parked(meta.stage) : subjects.dlq(meta.stage);
  const dl = DeadLetter.encode({
    stage: meta.stage, stream: meta.stream, subject: meta.subject, sequence: meta.seq, record_index: recordIndex,
    error: errorMessage(err), payload, failed_ms: Date.now(), source_id: sourceId,
  }).finish();
  return { subject, data: dl, key: recordIndex < 0 ? 'dlq' : `dlq.${recordIndex}` };
}

/** The reason a message past the poison rule is dead-lettered with. */
export function poisonReason(stage: string, times: number): string {
  return `crashed or stalled the ${stage} stage ${times} times`;
}

/**
 * Test-only fault hooks, off unless MINISOC_TEST_FAULT_STAGE names a stage: there, a message whose payload
 * holds MINISOC_TEST_CRASH_MARKER makes the stage exit, and one holding MINISOC_TEST_STALL_MARKER blocks its
 * event loop (what a runaway parser would do).
 */
const FAULT_STAGE = process.env.MINISOC_TEST_FAULT_STAGE;
const CRASH_MARKER = process.env.MINISOC_TEST_CRASH_MARKER ? Buffer.from(process.env.MINISOC_TEST_CRASH_MARKER) : undefined;
const STALL_MARKER = process.env.MINISOC_TEST_STALL_MARKER ? Buffer.from(process.env.MINISOC_TEST_STALL_MARKER) : undefined;

function testFaults(stage: string, data: Uint8Array): void {
  if (!FAULT_STAGE || stage !== FAULT_STAGE) return;
  if (CRASH_MARKER && Buffer.from(data.buffer, data.byteOffset, data.byteLength).includes(CRASH_MARKER)) process.exit(70);
  if (STALL_MARKER && Buffer.from(data.buffer, data.byteOffset, data.byteLength).includes(STALL_MARKER)) for (;;) { /* stall on purpose */ }
}

/** The end of a message's stay in this process. */
type Settle = 'ack' | 'term' | 'nak';

/**
 * Pulls only as many messages as it has room for, so every message it holds is being worked on and kept
 * alive (`working()`): a redelivery then means a stage process died or stalled on it, never that it waited
 * in a buffer. A redelivered message is handled alone, so a crash is charged to the message that caused it.
 */
export class StageRunner<T> {
  private readonly js: JetStreamClient;
  private jsm?: JetStreamManager;
  private consumer?: Consumer;
  private readonly labels: { stage: string; stream: string };
  private readonly queue: JsMsg[] = [];
  private running = 0;
  private isolating = false;
  private probation = true;
  private stopping = false;
  private loopDone?: Promise<void>;
  private lagTimer?: NodeJS.Timeout;
  private streamEpoch = '0';
  private wake?: () => void;
  private readonly idle: (() => void)[] = [];

  constructor(private readonly nc: NatsConnection, private readonly stage: Stage<T>, private readonly opts: RunnerOptions) {
    this.js = jetstream(nc);
    this.labels = { stage: stage.name, stream: stage.stream };
  }

  private get maxDeliveries(): number { return this.opts.maxDeliveries ?? 5; }

  /** Makes sure the durable consumer exists, then consumes until stop(). */
  async start(): Promise<void> {
    await this.prepare();
    this.consume();
  }

  /** Makes sure the durable consumer exists and reads the stream's epoch; takes no message yet. */
  async prepare(): Promise<void> {
    this.jsm = await jetstreamManager(this.nc);
    await ensureConsumer(this.jsm, consumerSpec(this.stage.stream, this.stage.name), this.opts.ackWaitMs);
    const info = await this.jsm.streams.info(this.stage.stream);
    this.streamEpoch = Date.parse(info.created).toString(36);
  }

  /**
   * Starts pulling, after prepare(). It returns at once, and the first message can only come with a later
   * I/O callback: code that runs right after it (a service telling its supervisor it is ready) runs before
   * any message is handled.
   */
  consume(): void {
    if (!this.jsm || this.loopDone) throw new Error(`${this.stage.name} on ${this.stage.stream}: consume() before prepare(), or twice`);
    this.loopDone = this.loop();
    this.lagTimer = setInterval(() => void this.readLag(), this.opts.lagIntervalMs ?? 5000);
    this.lagTimer.unref();
    this.opts.log.info({ stream: this.stage.stream, durable: this.stage.name }, 'stage consuming');
  }

  /**
   * Stops pulling (the pull under way ends within fetchExpiresMs, and what it brings is still handled),
   * finishes what it holds (acked, or nak'ed when waiting on a transient failure), then returns.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.lagTimer);
    this.wake?.();
    await this.loopDone;
    while (this.running > 0 || this.queue.length > 0) {
      this.pump();
      await new Promise<void>((resolve) => this.idle.push(resolve));
    }
  }

  private room(): number {
    return this.opts.maxInFlight - this.running - this.queue.length;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      // Nothing is pulled while a redelivered message waits for, or has, the stage to itself.
      if (this.room() <= 0 || this.isolating || this.queue.some(redelivered)) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        continue;
      }
      try {
        this.consumer ??= await this.js.consumers.get(this.stage.stream, this.stage.name);
        // After a redelivery (and at start, when redeliveries come first) one message at a time, so that each
        // one that may crash the stage is in hand alone; full pulls again once a fresh message comes.
        const max = this.probation ? 1 : this.room();
        const messages = await this.consumer.fetch({ max_messages: max, expires: Math.max(1000, this.opts.fetchExpiresMs ?? 5000) });
        for await (const m of messages) {
          this.probation = redelivered(m);
          this.enqueue(m);
        }
      } catch (err) {
        if (this.stopping) break;
        this.opts.log.error({ err: errorMessage(err), stream: this.stage.stream }, 'pulling messages failed, trying again');
        stageMetrics.restarts.inc(this.labels);
        this.consumer = undefined;
        if (this.jsm) {
          await ensureConsumer(this.jsm, consumerSpec(this.stage.stream, this.stage.name), this.opts.ackWaitMs)
            .catch((e: unknown) => this.opts.log.warn({ err: errorMessage(e) }, 'cannot check the durable consumer'));
        }
        await sleep(1000);
      }
    }
  }

  private enqueue(m: JsMsg): void {
    this.keepAlive(m);
    this.queue.push(m);
    this.pump();
  }

  /**
   * Starts queued messages while there is room. A redelivered message runs alone: after the fresh ones in
   * hand are done, with nothing else started or pulled until it is finished.
   */
  private pump(): void {
    while (!this.isolating && this.queue.length > 0) {
      const fresh = this.queue.findIndex((m) => !redelivered(m));
      let index: number;
      if (fresh >= 0) {
        if (this.running >= this.opts.maxInFlight) return;
        index = fresh;
      } else {
        if (this.running > 0) return;
        index = 0;
        this.isolating = true;
      }
      const [m] = this.queue.splice(index, 1);
      this.running++;
      stageMetrics.inFlight.set(this.labels, this.running);
      void this.process(m!).finally(() => this.finished());
    }
  }

  private finished(): void {
    this.running--;
    this.isolating = false;
    stageMetrics.inFlight.set(this.labels, this.running);
    this.pump();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    if (this.running === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Tells JetStream the message is being worked on, so it is not redelivered while this process holds it. */
  private keepAlive(m: JsMsg): void {
    const every = Math.max(250, Math.floor(this.opts.ackWaitMs / 3));
    const timer = setInterval(() => m.working(), every);
    timer.unref();
    keepAlives.set(m, timer);
  }

  private settle(m: JsMsg, how: Settle, delayMs?: number): void {
    clearInterval(keepAlives.get(m));
    keepAlives.delete(m);
    if (how === 'ack') m.ack();
    // No reason text: nats-server 2.9 does not parse `+TERM <reason>` and would leave the message pending.
    else if (how === 'term') m.term();
    else m.nak(delayMs);
  }

  private async readLag(): Promise<void> {
    try {
      const info = await this.jsm!.consumers.info(this.stage.stream, this.stage.name);
      stageMetrics.lag.set(this.labels, lagOf(info));
    } catch {
      // Lag is informational; the pull loop reports real connection trouble.
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const started = performance.now();
    stageMetrics.received.inc(this.labels);
    const meta: MessageMeta = {
      stage: this.stage.name, stream: this.stage.stream, subject: m.subject, seq: m.seq,
      streamEpoch: this.streamEpoch, deliveryCount: m.info.deliveryCount, attempt: 1, log: this.opts.log,
    };
    if (meta.deliveryCount > this.maxDeliveries) {
      stageMetrics.poisoned.inc(this.labels);
      return this.deadLetter(m, meta, new Error(poisonReason(this.stage.name, meta.deliveryCount - 1)));
    }
    testFaults(this.stage.name, m.data);
    let input: T;
    try {
      input = this.stage.decode(m.data);
    } catch (err) {
      return this.deadLetter(m, meta, err instanceof DecodeError ? err : new DecodeError(errorMessage(err), { cause: err }));
    }
    if (this.stage.size) stageMetrics.events.inc(this.labels, this.stage.size(input));
    let outputs: Output[] | undefined;
    const maxAttempts = this.opts.maxAttempts ?? 5;
    while (!outputs) {
      try {
        outputs = await this.stage.handle(input, meta);
      } catch (err) {
        if (isPoison(err)) return this.deadLetter(m, meta, err);
        const transient = err instanceof TransientError;
        if (!transient && meta.attempt >= maxAttempts) {
          return this.deadLetter(m, meta, new Error(`failed ${meta.attempt} times: ${errorMessage(err)}`, { cause: err }));
        }
        if (!(await this.retryLater(m, meta, err))) return;
      }
    }
    // The outputs are made once; publishing them again after a failure is deduplicated by their message ids.
    for (;;) {
      try {
        await this.publish(outputs, meta);
        break;
      } catch (err) {
        if (!(await this.retryLater(m, meta, err))) return;
      }
    }
    this.settle(m, 'ack');
    stageMetrics.acked.inc(this.labels);
    stageMetrics.latency.observe(this.labels, (performance.now() - started) / 1000);
  }

  /**
   * Waits before the next attempt (in this process: the delivery count stays the same). While stopping it
   * hands the message back instead and answers false.
   */
  private async retryLater(m: JsMsg, meta: MessageMeta, err: unknown): Promise<boolean> {
    const delay = backoffMs(meta.attempt, { maxMs: this.opts.maxBackoffMs });
    stageMetrics.retried.inc(this.labels);
    if (this.stopping) {
      meta.log.warn({ stream: meta.stream, seq: meta.seq, err: errorMessage(err) }, 'stopping: handing the message back');
      this.settle(m, 'nak', delay);
      return false;
    }
    meta.log.warn({ stream: meta.stream, seq: meta.seq, attempt: meta.attempt, delayMs: delay, err: errorMessage(err) }, 'trying the message again later');
    await sleep(delay);
    meta.attempt++;
    if (this.stopping) {
      this.settle(m, 'nak');
      return false;
    }
    return true;
  }

  private async publish(outputs: Output[], meta: MessageMeta): Promise<void> {
    if (outputs.length === 0) return;
    const base = `${meta.stage}:${meta.stream}:${meta.seq}`;
    await Promise.all(outputs.map((o) => this.js.publish(o.subject, o.data, { msgID: o.key ? `${base}:${o.key}` : base })));
    let dead = 0;
    const dlq = subjects.dlq(meta.stage);
    const parked = subjects.parked(meta.stage);
    for (const o of outputs) if (o.subject === dlq || o.subject === parked) dead++;
    stageMetrics.published.inc(this.labels, outputs.length - dead);
    if (dead) stageMetrics.deadLettered.inc(this.labels, dead);
  }

  /** Publishes the dead letter first and only then terminates the message, so nothing is dropped. */
  private async deadLetter(m: JsMsg, meta: MessageMeta, err: unknown): Promise<void> {
    meta.log.warn({ stream: meta.stream, subject: meta.subject, seq: meta.seq, err: errorMessage(err) }, 'dead-lettering message');
    for (;;) {
      try {
        await this.publish([deadLetterOutput(meta, err, m.data)], meta);
        break;
      } catch (pubErr) {
        if (!(await this.retryLater(m, meta, pubErr))) return;
      }
    }
    this.settle(m, 'term');
  }
}

const keepAlives = new WeakMap<JsMsg, NodeJS.Timeout>();

function redelivered(m: JsMsg): boolean {
  return m.info.deliveryCount > 1;
}
