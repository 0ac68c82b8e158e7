// Sigma filters saved from closed false positives, in the JetStream KV bucket RULE_FILTERS: one key per alert, the YAML as value.
import { jetstreamManager, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, KvWatchInclude, type KV, type KvEntry, type KvWatchEntry } from '@nats-io/kv';
import type { NatsConnection, QueuedIterator } from '@nats-io/transport-node';
import { TransientError, ValidationError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { FILTER_MAX_YAML_BYTES, KV_BUCKETS, ruleFiltersBucket } from '../core/topology.js';

/** nats-server's answer to a publish into a full stream with discard new (the same on 2.9 and 2.15). */
const MAXIMUM_BYTES_EXCEEDED = 10077;

const SAFE_ID = /^[A-Za-z0-9_-]{1,200}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The key of an alert's filter. Alert ids made of letters, digits, `-` and `_` (every id MiniSOC makes) keep their
 * name, `fp-<id>`; any other id is written `fp.<base64url of the id>`, which no plain id can collide with (a plain id
 * has no dot), so one alert has one key and one key one alert.
 */
export function filterKey(alertId: string): string {
  return SAFE_ID.test(alertId) ? `fp-${alertId}` : `fp.${Buffer.from(alertId, 'utf8').toString('base64url')}`;
}

/** The alert id a key was made from, or null for a key filterKey does not make (written by hand with `nats kv put`). */
export function alertIdOfKey(key: string): string | null {
  if (key.startsWith('fp-')) return SAFE_ID.test(key.slice(3)) ? key.slice(3) : null;
  if (key.startsWith('fp.') && BASE64URL.test(key.slice(3))) {
    const id = Buffer.from(key.slice(3), 'base64url').toString('utf8');
    return filterKey(id) === key ? id : null;
  }
  return null;
}

/** Where a saved filter is, as the loader names it in `file:line: reason` and the API in `file`: `kv:RULE_FILTERS/<key>`. */
export function filterLabel(key: string): string {
  return `kv:${KV_BUCKETS.RULE_FILTERS}/${key}`;
}

export interface SavedFilterEntry {
  key: string;
  /** The alert it was saved for; null for a key filterKey does not make. */
  alertId: string | null;
  yaml: string;
  /** The bucket's revision of the value (its stream sequence). */
  revision: number;
  savedAt: Date;
}

/** What `follow` keeps: every saved filter, kept current by a watch on the bucket. */
export interface FilterFollower {
  readonly entries: ReadonlyMap<string, SavedFilterEntry>;
  stop(): Promise<void>;
}

function toEntry(e: KvEntry): SavedFilterEntry {
  return { key: e.key, alertId: alertIdOfKey(e.key), yaml: e.string(), revision: e.revision, savedAt: e.created };
}

function apiCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

const isWrongLastSequence = (err: unknown): boolean =>
  apiCode(err) === JetStreamApiCodes.StreamWrongLastSequence || apiCode(err) === JetStreamApiCodes.StreamWrongLastSequenceUnknown;

/** NATS away, a timeout, no JetStream: a failure a later try may not have. */
function unreachable(what: string, err: unknown): TransientError {
  return new TransientError(`cannot ${what} the KV bucket ${KV_BUCKETS.RULE_FILTERS}: ${errorMessage(err)}`, { cause: err });
}

/** A save refused because the bucket holds RULE_FILTERS_MAX_BYTES already. */
export class FilterBucketFullError extends Error {
  override name = 'FilterBucketFullError';
  constructor(options?: ErrorOptions) {
    super(`the KV bucket ${KV_BUCKETS.RULE_FILTERS} is full: remove filters no longer needed (soc rules filters list / remove)`, options);
  }
}

export class FilterStore {
  /** The last full read, with the bucket's last sequence before it: while that has not moved, nothing changed. */
  private listed?: { lastSeq: number; entries: SavedFilterEntry[] };

  private constructor(private readonly kv: KV) {}

  /**
   * Opens the bucket, creating it when it does not exist (any service or command that needs it may be first). The
   * limits and replicas of an existing bucket are brought to the declared ones, as ensureTopology does for streams;
   * `maxBytes` is for tests.
   */
  static async open(nc: NatsConnection, o: { replicas: number; maxBytes?: number; log?: Logger }): Promise<FilterStore> {
    const want = { ...ruleFiltersBucket(o), ...(o.maxBytes ? { max_bytes: o.maxBytes } : {}) };
    let kv: KV;
    try {
      kv = await new Kvm(nc).create(KV_BUCKETS.RULE_FILTERS, want);
    } catch (err) {
      throw unreachable('open', err);
    }
    const store = new FilterStore(kv);
    await store.reconcile(nc, want).catch((err: unknown) => o.log?.warn({ bucket: KV_BUCKETS.RULE_FILTERS, err: errorMessage(err) }, 'bucket settings differ from the declared ones and cannot be updated'));
    return store;
  }

  private async reconcile(nc: NatsConnection, want: ReturnType<typeof ruleFiltersBucket>): Promise<void> {
    const { streamInfo } = await this.kv.status();
    const c = streamInfo.config;
    if (c.max_bytes === want.max_bytes && c.max_msg_size === want.maxValueSize && c.num_replicas === want.replicas && c.max_msgs_per_subject === want.history) return;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.update(c.name, { ...c, max_bytes: want.max_bytes, max_msg_size: want.maxValueSize, num_replicas: want.replicas, max_msgs_per_subject: want.history });
  }

  /** The filter saved for an alert, or null. */
  async get(alertId: string): Promise<SavedFilterEntry | null> {
    let e: KvEntry | null;
    try {
      e = await this.kv.get(filterKey(alertId));
    } catch (err) {
      throw unreachable('read', err);
    }
    return e && e.operation === 'PUT' ? toEntry(e) : null;
  }

  /**
   * Saves the filter of an alert that has none: null when one is saved already (never replaced, whoever saved it
   * first). A document over FILTER_MAX_YAML_BYTES is a ValidationError; a full bucket a FilterBucketFullError.
   */
  async create(alertId: string, yaml: string): Promise<SavedFilterEntry | null> {
    const bytes = Buffer.byteLength(yaml, 'utf8');
    if (bytes > FILTER_MAX_YAML_BYTES) throw new ValidationError(`the filter document has ${bytes} bytes; at most ${FILTER_MAX_YAML_BYTES} are saved`);
    const key = filterKey(alertId);
    try {
      const revision = await this.kv.create(key, yaml);
      return { key, alertId, yaml, revision, savedAt: new Date() };
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      if (apiCode(err) === MAXIMUM_BYTES_EXCEEDED) throw new FilterBucketFullError({ cause: err });
      throw unreachable('write', err);
    }
  }

  /**
   * Deletes the filter saved for an alert; with `revision`, only that version of it (so a filter saved again
   * meanwhile stays). False when there is none (any more).
   */
  async remove(alertId: string, revision?: number): Promise<boolean> {
    const rev = revision ?? (await this.get(alertId))?.revision;
    if (rev === undefined) return false;
    try {
      await this.kv.delete(filterKey(alertId), { previousSeq: rev });
      return true;
    } catch (err) {
      if (isWrongLastSequence(err)) return false;
      throw unreachable('write', err);
    }
  }

  /**
   * Every saved filter, by key. Values are read 16 at a time (the bucket's size bounds how many there are), and only
   * when the bucket changed since the last read: otherwise one status request answers.
   */
  async list(): Promise<SavedFilterEntry[]> {
    try {
      const lastSeq = (await this.kv.status()).streamInfo.state.last_seq;
      if (this.listed?.lastSeq === lastSeq) return [...this.listed.entries];
      const keys: string[] = [];
      for await (const k of await this.kv.keys()) keys.push(k);
      const out: SavedFilterEntry[] = [];
      for (let i = 0; i < keys.length; i += 16) {
        for (const e of await Promise.all(keys.slice(i, i + 16).map((k) => this.kv.get(k)))) if (e?.operation === 'PUT') out.push(toEntry(e));
      }
      out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      this.listed = { lastSeq, entries: out };
      return [...out];
    } catch (err) {
      throw unreachable('read', err);
    }
  }

  /**
   * Reads every saved filter, then keeps `entries` current from a watch that starts right after what was read
   * (nothing saved in between is missed; what was read twice is applied once, by revision), calling `onChange`
   * after each put or delete. Resolves once the first read is done, so the caller can use the filters before it
   * does anything else. A watch that ends (the server gone for good, the bucket re-created) is started again from
   * the last revision seen, with backoff.
   */
  async follow(onChange: (entries: ReadonlyMap<string, SavedFilterEntry>) => void, log: Logger): Promise<FilterFollower> {
    const entries = new Map<string, SavedFilterEntry>();
    let from: number;
    try {
      from = (await this.kv.status()).streamInfo.state.last_seq + 1;
    } catch (err) {
      throw unreachable('read', err);
    }
    for (const e of await this.list()) entries.set(e.key, e);
    const apply = (e: KvWatchEntry): boolean => {
      from = Math.max(from, e.revision + 1);
      const cur = entries.get(e.key);
      if (cur && cur.revision >= e.revision) return false;
      if (e.operation === 'PUT') entries.set(e.key, toEntry(e));
      else if (!entries.delete(e.key)) return false;
      return true;
    };
    let stopped = false;
    let iter: QueuedIterator<KvWatchEntry> | undefined;
    let wake: (() => void) | undefined;
    const run = async (): Promise<void> => {
      let backoffMs = 500;
      while (!stopped) {
        try {
          iter = await this.kv.watch({ include: KvWatchInclude.AllHistory, resumeFromRevision: from });
          if (stopped) iter.stop();
          for await (const e of iter) {
            backoffMs = 500;
            if (apply(e)) onChange(entries);
          }
        } catch (err) {
          if (!stopped) log.warn({ bucket: KV_BUCKETS.RULE_FILTERS, err: errorMessage(err) }, 'cannot watch the saved filters');
        }
        if (stopped) break;
        log.warn({ bucket: KV_BUCKETS.RULE_FILTERS, fromRevision: from, retryMs: backoffMs }, 'the watch of the saved filters ended; watching again');
        await new Promise<void>((res) => { wake = res; setTimeout(res, backoffMs); });
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    };
    const running = run();
    return {
      entries,
      stop: async () => {
        stopped = true;
        iter?.stop();
        wake?.();
        await running;
      },
    };
  }
}
