// The saved filters' KV bucket on a real nats-server: keys per alert, create-once, remove by revision, limits, and the
// follower detect builds from (a full read first, then every put and delete, across a server restart).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startTestNats, waitFor, type TestNats } from '../../test/harness.js';
import { ValidationError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { FILTER_MAX_YAML_BYTES, KV_BUCKETS, RULE_FILTERS_MAX_BYTES, RULE_FILTERS_MAX_VALUE_BYTES } from '../core/topology.js';
import { FilterBucketFullError, FilterStore, alertIdOfKey, filterKey, filterLabel, type SavedFilterEntry } from './filter-store.js';
import { SavedFilterSet, parseSavedFilter } from './fp-filter.js';

const log = createLogger('test', process.env.TEST_LOG ?? 'silent');
const STREAM = `KV_${KV_BUCKETS.RULE_FILTERS}`;
let nats: TestNats;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await nc?.close();
  await nats?.close();
});

// Every test starts without the bucket.
beforeEach(async () => {
  await jsm.streams.delete(STREAM).catch(() => false);
});

const filter = (n: number, rule = '6b1f0c2a-7d3e-4f50-9a61-0b2c3d4e5f60') => [
  `title: Filter ${n}`, `id: 00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, 'logsource: {product: linux, service: sshd}',
  'filter:', `  rules: [${rule}]`, `  selection: {source.ip: 198.51.100.${n}}`, '  condition: selection', '',
].join('\n');

describe('keys', () => {
  it('keeps plain alert ids readable and encodes any other id so that no two alerts share a key', () => {
    expect(filterKey('3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7')).toBe('fp-3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7');
    const odd = ['a.b', 'a_b', 'a b', 'ü/../x', '*', '>', 'fp-x', '.'];
    const keys = odd.map(filterKey);
    expect(new Set(keys).size).toBe(odd.length);
    for (const k of keys) expect(k).toMatch(/^[-/=.\w]+$/);
    for (const id of [...odd, 'plain-id_1']) expect(alertIdOfKey(filterKey(id))).toBe(id);
    expect(alertIdOfKey('written-by-hand')).toBeNull();
    // A plain id written the other way is not a key filterKey makes.
    expect(alertIdOfKey(`fp.${Buffer.from('plain').toString('base64url')}`)).toBeNull();
    expect(filterLabel('fp-1')).toBe('kv:RULE_FILTERS/fp-1');
  });
});

describe('the RULE_FILTERS bucket', () => {
  it('is created with history 1, bounded values and size, file storage, discard new and the given replicas', async () => {
    await FilterStore.open(nc, { replicas: 1 });
    const { config } = await jsm.streams.info(STREAM);
    expect(config).toMatchObject({
      max_msgs_per_subject: 1, max_msg_size: RULE_FILTERS_MAX_VALUE_BYTES, max_bytes: RULE_FILTERS_MAX_BYTES, num_replicas: 1, storage: 'file', discard: 'new',
    });
  });

  it('brings the limits of a bucket made otherwise to the declared ones', async () => {
    await new Kvm(nc).create(KV_BUCKETS.RULE_FILTERS, { history: 5, max_bytes: 1024, maxValueSize: 128 });
    await FilterStore.open(nc, { replicas: 1, log });
    expect((await jsm.streams.info(STREAM)).config).toMatchObject({ max_msgs_per_subject: 1, max_msg_size: RULE_FILTERS_MAX_VALUE_BYTES, max_bytes: RULE_FILTERS_MAX_BYTES });
  });

  it('saves one filter per alert, never replaces it, and removes only the revision it is told', async () => {
    const store = await FilterStore.open(nc, { replicas: 1 });
    expect(await store.get('a1')).toBeNull();
    const saved = await store.create('a1', filter(1));
    expect(saved).toMatchObject({ key: 'fp-a1', alertId: 'a1', yaml: filter(1) });
    expect(await store.create('a1', filter(2))).toBeNull();
    expect(await store.get('a1')).toMatchObject({ yaml: filter(1), revision: saved!.revision });
    expect(await store.remove('a1', saved!.revision + 100)).toBe(false);
    expect(await store.get('a1')).not.toBeNull();
    expect(await store.remove('a1')).toBe(true);
    expect(await store.get('a1')).toBeNull();
    expect(await store.remove('a1')).toBe(false);
    // Removed, the alert may have a filter again.
    expect(await store.create('a1', filter(3))).toMatchObject({ yaml: filter(3) });
    // A read is kept until the bucket changes: read twice, then a change, then read again.
    expect((await store.list()).map((e) => e.key)).toEqual(['fp-a1']);
    expect((await store.list()).map((e) => e.key)).toEqual(['fp-a1']);
    await store.create('a.b', filter(4));
    expect((await store.list()).map((e) => [e.key, e.alertId, e.yaml])).toEqual([['fp-a1', 'a1', filter(3)], [filterKey('a.b'), 'a.b', filter(4)]]);
  });

  it('takes a document up to FILTER_MAX_YAML_BYTES and refuses a larger one before it is sent', async () => {
    const store = await FilterStore.open(nc, { replicas: 1 });
    // Multi-byte characters: the limit is in bytes, and the largest document still fits the bucket with its headers.
    const base = `${filter(5)}# `;
    const room = FILTER_MAX_YAML_BYTES - Buffer.byteLength(base) - 1;
    const largest = `${base}${'é'.repeat(Math.floor(room / 2))}${room % 2 ? 'x' : ''}\n`;
    expect(Buffer.byteLength(largest)).toBe(FILTER_MAX_YAML_BYTES);
    expect(await store.create('big', largest)).toMatchObject({ key: 'fp-big' });
    await expect(store.create('bigger', `${largest} `)).rejects.toThrow(ValidationError);
    expect(await store.get('bigger')).toBeNull();
  });

  it('refuses a save into a full bucket without dropping a saved filter, and takes one again once a filter is removed', async () => {
    const store = await FilterStore.open(nc, { replicas: 1, maxBytes: 4096 });
    const bulky = (n: number) => `${filter(n)}# ${'x'.repeat(900)}\n`;
    let n = 0;
    let refused: unknown;
    while (!refused && n < 10) await store.create(`f${++n}`, bulky(n)).catch((err: unknown) => { refused = err; });
    expect(refused).toBeInstanceOf(FilterBucketFullError);
    expect((await store.list()).length).toBe(n - 1);
    expect(await store.get('f1')).toMatchObject({ yaml: bulky(1) });
    expect(await store.remove('f1')).toBe(true);
    expect(await store.create(`f${n}`, bulky(n))).not.toBeNull();
  });
});

describe('following the bucket', () => {
  it('reads every filter before it resolves, then applies each put and delete, also after a nats-server restart', async () => {
    const store = await FilterStore.open(nc, { replicas: 1 });
    await store.create('before-1', filter(1));
    await store.create('before-2', filter(2));
    await store.remove('before-2');
    const changes: string[][] = [];
    const follower = await store.follow((entries) => { changes.push([...entries.keys()].sort()); }, log);
    try {
      // What was there is there at once, without waiting for a watch.
      expect([...follower.entries.keys()]).toEqual(['fp-before-1']);
      expect(changes).toEqual([]);
      await store.create('after', filter(3));
      await waitFor('the put', () => follower.entries.has('fp-after'));
      await store.remove('before-1');
      await waitFor('the delete', () => !follower.entries.has('fp-before-1'));
      expect(changes).toEqual([['fp-after', 'fp-before-1'], ['fp-after']]);
      expect(follower.entries.get('fp-after')).toMatchObject<Partial<SavedFilterEntry>>({ alertId: 'after', yaml: filter(3) });

      await nats.restart();
      // The client reconnects; the watch goes on from the last revision it saw.
      await waitFor('a save after the restart', async () => {
        await store.create('after-restart', filter(4)).catch(() => undefined);
        return follower.entries.has('fp-after-restart');
      }, 60_000, 500);
      expect([...follower.entries.keys()].sort()).toEqual(['fp-after', 'fp-after-restart']);
    } finally {
      await follower.stop();
    }
    // Stopped, it applies nothing more.
    await store.create('after-stop', filter(5));
    const seen = changes.length;
    await store.remove('after');
    expect(await store.get('after')).toBeNull();
    expect(changes.length).toBe(seen);
    expect(follower.entries.has('fp-after-stop')).toBe(false);
  }, 120_000);
});

describe('saved filters as rules', () => {
  it('loads each saved filter whole or not at all, naming its key, and never lets a broken one take the others', () => {
    const set = new SavedFilterSet();
    const broken = filter(2).replace('condition: selection', 'condition: selection and missing');
    const rule = filter(3).replace('filter:\n  rules: [6b1f0c2a-7d3e-4f50-9a61-0b2c3d4e5f60]', 'detection:');
    const r = set.load([
      { file: filterLabel('fp-ok'), text: filter(1) }, { file: filterLabel('fp-broken'), text: broken }, { file: filterLabel('fp-rule'), text: rule },
    ]);
    expect(r.rules.map((x) => x.title)).toEqual(['Filter 1']);
    const errors = r.problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => p.file)).toEqual(['kv:RULE_FILTERS/fp-broken', 'kv:RULE_FILTERS/fp-rule']);
    expect(errors[0]!.message).toMatch(/missing/);
    expect(errors[1]!.message).toMatch(/not a Sigma filter document/);
    // A multi-document value with one bad document loads none of it.
    expect(parseSavedFilter(`${filter(4)}---\n${broken}`, filterLabel('fp-two')).rules).toEqual([]);
  });

  it('parses a value again only when its text changes', () => {
    const set = new SavedFilterSet();
    const first = set.load([{ file: filterLabel('fp-a'), text: filter(1) }]).rules[0];
    expect(set.load([{ file: filterLabel('fp-a'), text: filter(1) }]).rules[0]).toBe(first);
    expect(set.load([{ file: filterLabel('fp-a'), text: filter(9) }]).rules[0]!.title).toBe('Filter 9');
  });
});
