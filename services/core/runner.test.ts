import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startTestNats, waitFor, type TestNats } from '../../test/harness.js';
import { DecodeError, TransientError } from './errors.js';
import { createLogger } from './log.js';
import { DeadLetter } from './proto.js';
import { StageRunner, type Stage } from './runner.js';
import { ensureTopology, subjects } from './topology.js';

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
const log = createLogger('test', 'silent');
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

async function run<T>(stage: Stage<T>, body: () => Promise<void>, maxUnexpectedDeliveries = 5): Promise<void> {
  const runner = new StageRunner(nc, stage, { maxInFlight: 4, maxBackoffMs: 50, ackWaitMs: 30_000, maxUnexpectedDeliveries, log });
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

  it('retries a transient failure with backoff and publishes once it passes', async () => {
    const out = collect('events.normalized.retry');
    const deliveries: number[] = [];
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: (s, meta) => {
        deliveries.push(meta.deliveryCount);
        if (meta.deliveryCount < 3) throw new TransientError('database away');
        return [{ subject: subjects.normalized('retry'), data: enc.encode(s.toUpperCase()) }];
      },
    };
    await run(stage, async () => {
      await jetstream(nc).publish(subjects.ingest('retry'), enc.encode('hello'));
      await waitFor('the output', () => out.got.length === 1);
      await settled();
    });
    expect(deliveries).toEqual([1, 2, 3]);
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
    }, 3);
    expect(calls).toBe(3);
    expect(DeadLetter.decode(dlq.got[0]!).error).toBe('failed 3 times: bug in a parser');
    dlq.sub.unsubscribe();
  });

  it('gives outputs deterministic message ids, so a redelivered message publishes nothing twice', async () => {
    const before = (await jsm.streams.info('NORMALIZED')).state.messages;
    const stage: Stage<string> = {
      name: 'normalize', stream: 'INGEST', decode: (b) => dec.decode(b),
      handle: (_s, meta) => [
        { subject: subjects.normalized('dedup'), data: enc.encode('one'), key: 'a' },
        // The first delivery's second output goes nowhere (no stream takes it), so the message is retried
        // after its first output was already stored.
        { subject: meta.deliveryCount === 1 ? 'nowhere.at.all' : subjects.normalized('dedup'), data: enc.encode('two'), key: 'b' },
      ],
    };
    await run(stage, async () => {
      await jetstream(nc).publish(subjects.ingest('dedup'), enc.encode('x'));
      await settled();
    });
    const after = (await jsm.streams.info('NORMALIZED')).state.messages;
    expect(after - before).toBe(2);
  });
});
