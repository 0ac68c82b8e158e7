// One agent cannot fill TELEMETRY for all: on nats-server 2.10+ each agent's subject holds at most
// AGENT_MAX_BACKLOG_BATCHES unconsumed batches, its further publishes are refused (it keeps them spooled) while
// other agents go on; on 2.9, whose per-subject limit would drop old batches, no such limit is set.
import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../services/core/config.js';
import { NATS_FULL_SUPPORT, versionAtLeast } from '../services/core/nats.js';
import { topologyLimits } from '../services/core/service.js';
import { ensureTopology } from '../services/core/topology.js';
import { startTestNats, type TestNats } from './harness.js';

let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;
let version: string;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  version = nc.info!.version;
  await ensureTopology(jsm, topologyLimits(loadConfig({ AGENT_MAX_BACKLOG_BATCHES: '3' }), version));
});

afterAll(async () => {
  await nc?.close();
  await nats?.close();
});

describe('per-agent telemetry backlog', () => {
  it('is only set where the server refuses new messages per subject', () => {
    const config = loadConfig({ AGENT_MAX_BACKLOG_BATCHES: '7' });
    expect(topologyLimits(config, '2.9.10').agentBacklogBatches).toBeUndefined();
    expect(topologyLimits(config, '2.10.0').agentBacklogBatches).toBe(7);
    expect(topologyLimits(config).agentBacklogBatches).toBeUndefined();
  });

  it('refuses an agent past its backlog, keeps the others going, and takes it again once its batches are consumed', async () => {
    const stream = await jsm.streams.info('TELEMETRY');
    if (!versionAtLeast(version, NATS_FULL_SUPPORT)) {
      // 2.9: a per-subject limit would discard the oldest batches (loss), so none is set.
      expect(stream.config.max_msgs_per_subject ?? -1).toBeLessThanOrEqual(0);
      return;
    }
    expect(stream.config).toMatchObject({ max_msgs_per_subject: 3, discard_new_per_subject: true });
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++) await js.publish('telemetry.noisy', new TextEncoder().encode(`batch ${i}`), { msgID: `noisy:${i}` });
    await expect(js.publish('telemetry.noisy', new TextEncoder().encode('batch 3'), { msgID: 'noisy:3' })).rejects.toThrow(/maximum messages per subject/i);
    // Another agent is not held back by the noisy one.
    expect((await js.publish('telemetry.quiet', new TextEncoder().encode('batch 0'), { msgID: 'quiet:0' })).duplicate).toBe(false);

    // Normalize consumes (acknowledges) the noisy agent's first batch: its next publish is accepted.
    const consumer = await js.consumers.get('TELEMETRY', 'normalize');
    expect((await jsm.consumers.info('TELEMETRY', 'normalize')).config.ack_policy).toBe(AckPolicy.Explicit);
    const got = await consumer.next({ expires: 10_000 });
    expect(got?.subject).toBe('telemetry.noisy');
    await got!.ackAck();
    const ack = await js.publish('telemetry.noisy', new TextEncoder().encode('batch 3'), { msgID: 'noisy:3' });
    expect(ack.duplicate).toBe(false);
    expect((await jsm.streams.info('TELEMETRY')).state.messages).toBe(4);
  });
});
