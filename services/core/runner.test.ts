import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startTestNats, waitFor, type TestNats } from '../../test/harness.js';
import { DecodeError, TransientError } from './errors.js';
import { createLogger } from './log.js';
import { DeadLetter } from './proto.js';
import { loadConfig } from './config.js';
import { StageRunner, type Stage } from './runner.js';
import { startStages } from './service.js';
import { ensureTopology, subjects } from './topology.js';

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
const enc = new TextEncoder();
const dec = new TextDecoder();

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
});

afterAll(async () => {
  await nc?.close();
  await nats?.close();
});

function collect(subject: string): { sub: Subscription; got: Uint8Array[] } {
  const got: Uint8Array[] = [];
  const sub = nc.subscribe(subject, { callback: (_err, m) => { got.push(m.data); } });
  return { sub, got };
}

async function run<T>(stage: Stage<T>, body: () => Promise<void>, o: { maxAttempts?: number; ackWaitMs?: number; maxDeliveries?: number } = {}): Promise<void> {
  const runner = new StageRunner(nc, stage, {
    maxInFlight: 4, maxBackoffMs: 50, ackWaitMs: o.ackWaitMs ?? 30_000, maxAttempts: o.maxAttempts ?? 5, maxDeliveries: o.maxDeliveries, fetchExpiresMs: 1000, log,
  });
  await runner.start();
  try {
    await body();
  } finally {
    await runner.stop();
  }
}

async function settled(): Promise<void> {
  await waitFor('the consumer to settle', async () => {
    const info = await jsm.consumers.info('INGEST', 'normalize');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  });
}

describe('StageRunner', () => {
  it('dead-letters a message it cannot decode, with the reason and the original payload', async () => {
    const dlq = collect(subjects.dlq('normalize'));
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST',
      decode: (b) => { const s = dec.decode(b); if (s.startsWith('garbage')) throw new DecodeError('not a batch'); return s; },
      handle: () => [],
    };
    await run(stage, async () => {
      const ack = await jetstream(nc).publish(subjects.ingest('decode'), enc.encode('garbage!'));
      await waitFor('a dead letter', () => dlq.got.length === 1);
      const dl = DeadLetter.decode(dlq.got[0]!);
      expect(dl).toMatchObject({ stage: 'normalize', stream: 'INGEST', subject: 'ingest.decode', sequence: ack.seq, record_index: -1, error: 'not a batch' });
      expect(dec.decode(dl.payload)).toBe('garbage!');
      await settled();
    });
    dlq.sub.unsubscribe();
  });

  it('retries a transient failure in process with backoff, without a redelivery, and publishes once it passes', async () => {
    const out = collect('events.normalized.retry');
    const deliveries: number[] = [];
    const attempts: number[] = [];
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: (s, meta) => {
        deliveries.push(meta.deliveryCount);
        attempts.push(meta.attempt);
        if (meta.attempt < 3) throw new TransientError('database away');
        return [{ subject: subjects.normalized('retry'), data: enc.encode(s.toUpperCase()) }];
      },
    };
    await run(stage, async () => {
      await jetstream(nc).publish(subjects.ingest('retry'), enc.encode('hello'));
      await waitFor('the output', () => out.got.length === 1);
      await settled();
    });
    expect(attempts).toEqual([1, 2, 3]);
    // Transient failures never count as deliveries: the poison rule only sees crashes and stalls.
    expect(deliveries).toEqual([1, 1, 1]);
    expect(dec.decode(out.got[0]!)).toBe('HELLO');
    out.sub.unsubscribe();
  });

  it('dead-letters a message that keeps failing unexpectedly instead of retrying it forever', async () => {
    const dlq = collect(subjects.dlq('normalize'));
    let calls = 0;
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: () => { calls++; throw new TypeError('bug in a parser'); },
    };
    await run(stage, async () => {
      await jetstream(nc).publish(subjects.ingest('bug'), enc.encode('x'));
      await waitFor('a dead letter', () => dlq.got.length === 1);
      await settled();
    }, { maxAttempts: 3 });
    expect(calls).toBe(3);
    expect(DeadLetter.decode(dlq.got[0]!).error).toBe('failed 3 times: bug in a parser');
    dlq.sub.unsubscribe();
  });

  it('gives outputs deterministic message ids, so a message handled again publishes nothing twice', async () => {
    const before = (await jsm.streams.info('NORMALIZED')).state.messages;
    const js = jetstream(nc);
    const ack = await js.publish(subjects.ingest('dedup'), enc.encode('x'));
    // What an earlier attempt that died before its ack had already stored: the first output, under its id.
    await js.publish(subjects.normalized('dedup'), enc.encode('one'), { msgID: `normalize:INGEST:${ack.seq}:a` });
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: () => [
        { subject: subjects.normalized('dedup'), data: enc.encode('one'), key: 'a' },
        { subject: subjects.normalized('dedup'), data: enc.encode('two'), key: 'b' },
      ],
    };
    await run(stage, settled);
    const after = (await jsm.streams.info('NORMALIZED')).state.messages;
    expect(after - before).toBe(2);
  });

  it('dead-letters a message that crashed its stage more than maxDeliveries times, and nothing that was in hand with it', async () => {
    const dlq = collect(subjects.dlq('normalize'));
    const js = jetstream(nc);
    const poison = await js.publish(subjects.ingest('poison'), enc.encode('poison'));
    await js.publish(subjects.ingest('poison'), enc.encode('fine'));
    const seen: number[] = [];
    // Each "crash" is a process that takes the message and dies holding it: its connection closes
    // without an ack, so JetStream redelivers the message after ack_wait (1 s here).
    for (let crash = 1; crash <= 3; crash++) {
      const doomed = await connect({ servers: nats.url });
      const taken = new Promise<void>((resolve) => {
        const runner = new StageRunner(doomed, {
          name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
          handle: (s, meta) => {
            if (s !== 'poison') return [{ subject: subjects.normalized('poison'), data: enc.encode(s) }];
            seen.push(meta.deliveryCount);
            resolve();
            return new Promise<never>(() => undefined);
          },
        }, { maxInFlight: 4, maxBackoffMs: 50, ackWaitMs: 1000, maxDeliveries: 3, fetchExpiresMs: 1000, log });
        void runner.start();
      });
      await taken;
      await doomed.close();
    }
    // The fourth delivery is past the rule: dead-lettered without calling the stage, and acknowledged.
    const handled: string[] = [];
    await run({
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: (s) => { handled.push(s); return [{ subject: subjects.normalized('poison'), data: enc.encode(s) }]; },
    }, async () => {
      await waitFor('the dead letter', () => dlq.got.length === 1, 30_000);
      await settled();
    }, { ackWaitMs: 1000, maxDeliveries: 3 });
    expect(seen).toEqual([1, 2, 3]);
    expect(handled).not.toContain('poison');
    // The message that was in hand with the poison at the first crash was handled, not dead-lettered.
    expect(dlq.got).toHaveLength(1);
    const dl = DeadLetter.decode(dlq.got[0]!);
    expect(dl).toMatchObject({ stage: 'normalize', sequence: poison.seq, error: 'crashed or stalled the normalize stage 3 times' });
    expect(dec.decode(dl.payload)).toBe('poison');
    dlq.sub.unsubscribe();
  });

  it('handles a redelivered message alone, so a crash is charged to the message that caused it', async () => {
    const js = jetstream(nc);
    await js.publish(subjects.ingest('alone'), enc.encode('first'));
    // A process takes the message and dies holding it.
    const doomed = await connect({ servers: nats.url });
    await new Promise<void>((resolve) => {
      void new StageRunner(doomed, {
        name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
        handle: () => { resolve(); return new Promise<never>(() => undefined); },
      }, { maxInFlight: 4, maxBackoffMs: 50, ackWaitMs: 1000, fetchExpiresMs: 1000, log }).start();
    });
    await doomed.close();
    for (let i = 0; i < 6; i++) await js.publish(subjects.ingest('alone'), enc.encode(`later-${i}`));
    let concurrent = 0;
    const overlap: string[] = [];
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: async (s, meta) => {
        concurrent++;
        if (meta.deliveryCount > 1 && concurrent > 1) overlap.push(s);
        await new Promise((r) => setTimeout(r, 50));
        if (meta.deliveryCount > 1 && concurrent > 1) overlap.push(s);
        concurrent--;
        return [];
      },
    };
    await run(stage, settled, { ackWaitMs: 1000 });
    expect(overlap).toEqual([]);
  });

  it('startStages hands no message to any stage before it has returned (the service reports ready first)', async () => {
    const js = jetstream(nc);
    await js.publish(subjects.ingest('ready-first'), enc.encode('raw'));
    await js.publish(subjects.telemetry('ready-first'), enc.encode('telemetry'));
    let returned = false;
    const handled: { what: string; beforeReturn: boolean }[] = [];
    const stage = (stream: 'INGEST' | 'TELEMETRY'): Stage<string> => ({
      name: 'normalize', stream, decode: (b) => dec.decode(b),
      handle: (s) => { handled.push({ what: s, beforeReturn: !returned }); return []; },
    });
    const config = loadConfig({}, { STAGE_ACK_WAIT_MS: '30000', STAGE_MAX_IN_FLIGHT: '4' });
    const running = await startStages({ config, nc, log, db: () => { throw new Error('no database here'); } }, [stage('INGEST'), stage('TELEMETRY')]);
    returned = true;
    try {
      await waitFor('both messages handled', () => handled.length >= 2);
    } finally {
      await running.stop();
    }
    expect(handled.map((h) => h.what).sort()).toEqual(['raw', 'telemetry']);
    expect(handled.filter((h) => h.beforeReturn)).toEqual([]);
  });
});
