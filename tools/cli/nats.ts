// NATS for `soc` commands: NATS_URL, else the running `soc up`'s, for as long as one command needs it.
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../services/core/config.js';
import { createLogger } from '../../services/core/log.js';
import { connectNats } from '../../services/core/nats.js';
import { FilterStore } from '../../services/detect/filter-store.js';
import { natsTarget } from '../local/runtime.js';

export async function withNats<T>(work: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats({ ...natsTarget(), name: 'soc-cli', log: createLogger('soc', 'error') });
  try {
    return await work(nc);
  } finally {
    await nc.close();
  }
}

/** The saved filters' bucket (KV RULE_FILTERS), created with the configured replicas if it is not there yet. */
export async function withFilterStore<T>(work: (store: FilterStore) => Promise<T>): Promise<T> {
  return withNats(async (nc) => work(await FilterStore.open(nc, { replicas: loadConfig().STREAM_REPLICAS })));
}
