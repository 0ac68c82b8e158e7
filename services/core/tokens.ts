// Secrets handed to clients (sessions, API, enrollment and ingest tokens): made random, stored as a hash only.
import { createHash, randomBytes } from 'node:crypto';

/** The stored form of a token: its sha256 in hex. Tokens carry 256 random bits, so no salt or stretching is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token of 256 random bits, base64url, after a prefix that tells its kind (`soce_`, `socs_`, or none). */
export function newToken(prefix = ''): string {
  return prefix + randomBytes(32).toString('base64url');
}
