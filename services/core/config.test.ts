import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { ConfigError } from './errors.js';

describe('loadConfig', () => {
  it('fills defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.HTTP_PORT).toBe(8080);
    expect(c.STAGE_MAX_IN_FLIGHT).toBe(8);
    expect(c.NATS_URL).toBeUndefined();
  });

  it('coerces numbers from strings', () => {
    expect(loadConfig({ HTTP_PORT: '9000', INGEST_BATCH_RECORDS: '250' })).toMatchObject({ HTTP_PORT: 9000, INGEST_BATCH_RECORDS: 250 });
  });

  it('names every bad value in one error', () => {
    let err: unknown;
    try {
      loadConfig({ HTTP_PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'not a url' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain('HTTP_PORT="eighty"');
    expect(msg).toContain('LOG_LEVEL="loud"');
    expect(msg).toContain('DATABASE_URL="not a url"');
  });
});
