import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUser } from '@nats-io/nkeys';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_AGENT_LIMITS, ensureNatsAuth, issueAgentJwt } from './nats-accounts.js';

const dir = mkdtempSync(join(tmpdir(), 'minisoc-accounts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => { vi.restoreAllMocks(); });

describe('issueAgentJwt', () => {
  it('gives the credentials exactly the configured lifetime when a second ends between choosing exp and signing', async () => {
    const { auth } = await ensureNatsAuth(join(dir, 'auth'));
    // The first reading falls in the last millisecond of a second; every later one in the next second, as when
    // the clock ticks over while the JWT is being signed.
    let readings = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => (readings++ === 0 ? 1_800_000_000_999 : 1_800_000_001_000));
    const limits = { ...DEFAULT_AGENT_LIMITS, ttlS: 60 };
    const issued = await issueAgentJwt(auth, 'tick-1', createUser().getPublicKey(), [], limits);
    const claims = JSON.parse(Buffer.from(issued.jwt.split('.')[1]!, 'base64url').toString('utf8')) as { iat: number; exp: number };
    expect(readings).toBeGreaterThan(2);
    expect(claims.exp - claims.iat).toBe(60);
    expect([issued.issuedAt, issued.expiresAt]).toEqual([claims.iat, claims.exp]);
    expect(claims.iat).toBe(1_800_000_001);
  });
});
