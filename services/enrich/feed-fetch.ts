// Reading a feed: from a file or over HTTP(S), bounded in time and size, gzip undone, conditional requests.
import { readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { errorMessage } from '../core/errors.js';
import { FeedError } from './feed-lists.js';
export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
}

export interface Fetched {
  text: string;
  /** When the data was current: the file's modification time, or now for a URL that answered. */
  dataTimeMs: number;
  /** Validators for the next conditional request. */
  etag?: string;
  lastModified?: string;
  /** The server said 304 Not Modified. */
  unchanged?: boolean;
}

function decode(bytes: Uint8Array, maxBytes: number): string {
  let b = bytes;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = gunzipSync(b, { maxOutputLength: maxBytes });
    } catch (err) {
      throw new FeedError(`cannot gunzip: ${errorMessage(err)}`, { cause: err });
    }
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

export async function readPath(path: string, o: FetchOptions): Promise<Fetched> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FeedError(`${path} is not a file`);
    if (st.size > o.maxBytes) throw new FeedError(`${path} is ${st.size} bytes, more than INTEL_FEED_MAX_BYTES (${o.maxBytes})`);
    return { text: decode(await readFile(path), o.maxBytes), dataTimeMs: st.mtimeMs };
  } catch (err) {
    if (err instanceof FeedError) throw err;
    throw new FeedError(`cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** A URL as logs and status show it: no user info, no query (feed URLs often carry an API key there). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

export async function fetchUrl(url: string, o: FetchOptions, prev: { etag?: string; lastModified?: string }, nowMs: number): Promise<Fetched> {
  const shown = displayUrl(url);
  const headers: Record<string, string> = { 'user-agent': 'minisoc-enrich' };
  if (prev.etag) headers['if-none-match'] = prev.etag;
  if (prev.lastModified) headers['if-modified-since'] = prev.lastModified;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(o.timeoutMs), redirect: 'follow' });
  } catch (err) {
    const why = (err as Error)?.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : errorMessage((err as Error)?.cause ?? err);
    throw new FeedError(`cannot fetch ${shown}: ${why}`, { cause: err });
  }
  if (res.status === 304) {
    await res.body?.cancel();
    return { text: '', dataTimeMs: nowMs, etag: prev.etag, lastModified: prev.lastModified, unchanged: true };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FeedError(`${shown} answered HTTP ${res.status} ${res.statusText}`.trim());
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > o.maxBytes) {
    await res.body?.cancel();
    throw new FeedError(`${shown} sends ${declared} bytes, more than INTEL_FEED_MAX_BYTES (${o.maxBytes})`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > o.maxBytes) throw new FeedError(`${shown} sent more than INTEL_FEED_MAX_BYTES (${o.maxBytes})`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof FeedError) throw err;
    throw new FeedError(`${shown}: download failed: ${errorMessage(err)}`, { cause: err });
  }
  return {
    text: decode(Buffer.concat(chunks), o.maxBytes), dataTimeMs: nowMs,
    etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined,
  };
}

/** What `FeedManager.status()` lists for one feed. */
