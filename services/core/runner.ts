// The stage runner: the only code that touches JetStream messages for a pipeline stage.
import { jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { backoffMs } from './backoff.js';
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
  deliveryCount: number;
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
  /** Batches processed at once; the consumer pulls no more than twice this many ahead. */
  maxInFlight: number;
  /** Ceiling of the redelivery delay after a failure. */
  maxBackoffMs: number;
  /** Unexpected (non-transient) errors are retried this many deliveries before dead-lettering. */
  maxUnexpectedDeliveries?: number;
  /** Missed idle heartbeats in a row after which consume() is restarted. */
  restartAfterMissedHeartbeats?: number;
  /** Redelivery delay of an unacknowledged message (the durable consumer's ack_wait). */
  ackWaitMs: number;
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
export function deadLetterOutput(meta: MessageMeta, err: unknown, payload: Uint8Array, recordIndex = -1, sourceId = ''): Output {
  const dl = DeadLetter.encode({
    stage: meta.stage, stream: meta.stream, subject: meta.subject, sequence: meta.seq, record_index: recordIndex,
    error: errorMessage(err), payload, failed_ms: Date.now(), source_id: sourceId,
  }).finish();
  return { subject: subjects.dlq(meta.stage), data: dl, key: recordIndex < 0 ? 'dlq' : `dlq.${recordIndex}` };
}

class Slots {
  private free: number;
  private waiters: (() => void)[] = [];
  constructor(private readonly size: number) { this.free = size; }
  acquire(): Promise<void> | void {
    if (this.free > 0) { this.free--; return; }
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next(); else this.free++;
  }
  get busy(): number { return this.size - this.free; }
}

export class StageRunner<T> {
  private readonly js: JetStreamClient;
  private jsm?: JetStreamManager;
  private readonly slots: Slots;
  private readonly labels: { stage: string; stream: string };
  private messages?: ConsumerMessages;
  private stopping = false;
  private loopDone?: Promise<void>;
  private lagTimer?: NodeJS.Timeout;
  private streamEpoch = '0';
  private idle: (() => void)[] = [];

  constructor(private readonly nc: NatsConnection, private readonly stage: Stage<T>, private readonly opts: RunnerOptions) {
    this.js = jetstream(nc);
    this.slots = new Slots(opts.maxInFlight);
    this.labels = { stage: stage.name, stream: stage.stream };
  }

  /** Makes sure the durable consumer exists, then consumes until stop(). */
  async start(): Promise<void> {
    this.jsm = await jetstreamManager(this.nc);
    await ensureConsumer(this.jsm, consumerSpec(this.stage.stream, this.stage.name), this.opts.ackWaitMs);
    const info = await this.jsm.streams.info(this.stage.stream);
    this.streamEpoch = Date.parse(info.created).toString(36);
    this.loopDone = this.loop();
    this.lagTimer = setInterval(() => void this.readLag(), this.opts.lagIntervalMs ?? 5000);
    this.lagTimer.unref();
    this.opts.log.info({ stream: this.stage.stream, durable: this.stage.name }, 'stage consuming');
  }

  /** Stops pulling, lets the batches in flight finish (they are acked or nak'ed), then returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.lagTimer);
    await this.messages?.close().catch(() => undefined);
    await this.loopDone;
    while (this.slots.busy > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        const consumer = await this.js.consumers.get(this.stage.stream, this.stage.name);
        const messages = await consumer.consume({ max_messages: Math.max(4, this.opts.maxInFlight * 2) });
        this.messages = messages;
        void this.watch(messages);
        for await (const m of messages) {
          const wait = this.slots.acquire();
          if (wait) await wait;
          void this.process(m).finally(() => this.done());
        }
      } catch (err) {
        if (this.stopping) break;
        this.opts.log.error({ err, stream: this.stage.stream }, 'consume failed, restarting');
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (!this.stopping) stageMetrics.restarts.inc(this.labels);
    }
  }

  private done(): void {
    this.slots.release();
    stageMetrics.inFlight.set(this.labels, this.slots.busy);
    if (this.slots.busy === 0) for (const resolve of this.idle.splice(0)) resolve();
  }

  /** Restarts consume() on missed heartbeats and recreates the durable if someone deleted it. */
  private async watch(messages: ConsumerMessages): Promise<void> {
    const limit = this.opts.restartAfterMissedHeartbeats ?? 2;
    for await (const s of messages.status()) {
      if (s.type === 'heartbeats_missed' && s.count >= limit) {
        this.opts.log.warn({ stream: this.stage.stream, missed: s.count }, 'heartbeats missed, restarting consume');
        messages.stop();
        return;
      }
      if ((s.type === 'consumer_not_found' || s.type === 'consumer_deleted') && this.jsm) {
        this.opts.log.warn({ stream: this.stage.stream, durable: this.stage.name }, 'durable consumer lost, recreating');
        await ensureConsumer(this.jsm, consumerSpec(this.stage.stream, this.stage.name), this.opts.ackWaitMs).catch((err: unknown) =>
          this.opts.log.error({ err }, 'cannot recreate durable consumer'));
      }
    }
  }

  private async readLag(): Promise<void> {
    try {
      const info = await this.jsm!.consumers.info(this.stage.stream, this.stage.name);
      stageMetrics.lag.set(this.labels, lagOf(info));
    } catch {
      // Lag is informational; the consume loop reports real connection trouble.
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const started = performance.now();
    stageMetrics.received.inc(this.labels);
    stageMetrics.inFlight.set(this.labels, this.slots.busy);
    const meta: MessageMeta = {
      stage: this.stage.name, stream: this.stage.stream, subject: m.subject, seq: m.seq,
      streamEpoch: this.streamEpoch, deliveryCount: m.info.deliveryCount, log: this.opts.log,
    };
    let input: T;
    try {
      input = this.stage.decode(m.data);
    } catch (err) {
      return this.deadLetter(m, meta, err instanceof DecodeError ? err : new DecodeError(errorMessage(err), { cause: err }));
    }
    if (this.stage.size) stageMetrics.events.inc(this.labels, this.stage.size(input));
    let outputs: Output[];
    try {
      outputs = await this.stage.handle(input, meta);
    } catch (err) {
      if (isPoison(err)) return this.deadLetter(m, meta, err);
      const limit = this.opts.maxUnexpectedDeliveries ?? 5;
      if (!(err instanceof TransientError) && meta.deliveryCount >= limit) {
        return this.deadLetter(m, meta, new Error(`failed ${meta.deliveryCount} times: ${errorMessage(err)}`, { cause: err }));
      }
      return this.retry(m, meta, err);
    }
    try {
      await this.publish(outputs, meta);
    } catch (err) {
      return this.retry(m, meta, err);
    }
    m.ack();
    stageMetrics.acked.inc(this.labels);
    stageMetrics.latency.observe(this.labels, (performance.now() - started) / 1000);
  }

  private async publish(outputs: Output[], meta: MessageMeta): Promise<void> {
    if (outputs.length === 0) return;
    const base = `${meta.stage}:${meta.stream}:${meta.seq}`;
    await Promise.all(outputs.map((o) => this.js.publish(o.subject, o.data, { msgID: o.key ? `${base}:${o.key}` : base })));
    let dead = 0;
    const dlq = subjects.dlq(meta.stage);
    for (const o of outputs) if (o.subject === dlq) dead++;
    stageMetrics.published.inc(this.labels, outputs.length - dead);
    if (dead) stageMetrics.deadLettered.inc(this.labels, dead);
  }

  /** Publishes the dead letter first and only then terminates the message, so nothing is dropped. */
  private async deadLetter(m: JsMsg, meta: MessageMeta, err: unknown): Promise<void> {
    meta.log.warn({ stream: meta.stream, subject: meta.subject, seq: meta.seq, err: errorMessage(err) }, 'dead-lettering message');
    try {
      await this.publish([deadLetterOutput(meta, err, m.data)], meta);
    } catch (pubErr) {
      return this.retry(m, meta, pubErr);
    }
    // No reason text: nats-server 2.9 does not parse `+TERM <reason>` and would leave the message pending.
    m.term();
  }

  private retry(m: JsMsg, meta: MessageMeta, err: unknown): void {
    const delay = backoffMs(meta.deliveryCount, { maxMs: this.opts.maxBackoffMs });
    meta.log.warn({ stream: meta.stream, seq: meta.seq, delivery: meta.deliveryCount, delayMs: delay, err: errorMessage(err) }, 'retrying message later');
    stageMetrics.retried.inc(this.labels);
    m.nak(delay);
  }
}
