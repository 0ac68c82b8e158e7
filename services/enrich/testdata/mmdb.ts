// Writes small MaxMind DB (.mmdb) files for tests: City- and ASN-shaped databases we can reason about.
// Follows the MaxMind DB File Format Specification 2.0: a binary trie over IPv6 (IPv4 under ::/96),
// 24-bit records, a 16-byte separator, the data section, then the metadata after its marker.
import { parseCidr } from '../ip.js';

export interface MmdbNetwork {
  /** A CIDR block or a single address; IPv4 blocks live under ::/96 as the format says. */
  cidr: string;
  data: Record<string, unknown>;
}

function control(type: number, size: number): number[] {
  const extended = type > 7;
  const head = (extended ? 0 : type) << 5;
  let bytes: number[];
  if (size < 29) bytes = [head | size];
  else if (size < 29 + 256) bytes = [head | 29, size - 29];
  else if (size < 285 + 65536) bytes = [head | 30, (size - 285) >> 8, (size - 285) & 255];
  else bytes = [head | 31, ((size - 65821) >> 16) & 255, ((size - 65821) >> 8) & 255, (size - 65821) & 255];
  // The extended type byte comes right after the control byte, before any size bytes.
  return extended ? [bytes[0]!, type - 7, ...bytes.slice(1)] : bytes;
}

function encode(v: unknown): number[] {
  if (typeof v === 'string') {
    const b = [...Buffer.from(v, 'utf8')];
    return [...control(2, b.length), ...b];
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
      const b: number[] = [];
      for (let n = v; n > 0; n = Math.floor(n / 256)) b.unshift(n % 256);
      return [...control(6, b.length), ...b];
    }
    const buf = Buffer.alloc(8);
    buf.writeDoubleBE(v);
    return [...control(3, 8), ...buf];
  }
  if (typeof v === 'boolean') return control(14, v ? 1 : 0);
  if (Array.isArray(v)) return [...control(11, v.length), ...v.flatMap(encode)];
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    return [...control(7, entries.length), ...entries.flatMap(([k, x]) => [...encode(k), ...encode(x)])];
  }
  throw new Error(`cannot encode ${String(v)}`);
}

type Ref = { node: number } | { data: number } | null;

/** Builds a database; blocks must not overlap. */
export function writeMmdb(networks: MmdbNetwork[], databaseType = 'MiniSOC-Test'): Buffer {
  const nodes: [Ref, Ref][] = [[null, null]];
  const data: number[] = [];
  const offsets = new Map<string, number>();
  for (const n of networks) {
    const c = parseCidr(n.cidr);
    if (!c) throw new Error(`not a block: ${n.cidr}`);
    const bits = c.version === 4 ? c.len + 96 : c.len;
    const addr = c.start;
    const key = JSON.stringify(n.data);
    let offset = offsets.get(key);
    if (offset === undefined) {
      offset = data.length;
      data.push(...encode(n.data));
      offsets.set(key, offset);
    }
    let node = 0;
    for (let depth = 0; depth < bits; depth++) {
      const bit = Number((addr >> BigInt(127 - depth)) & 1n);
      if (depth === bits - 1) { nodes[node]![bit] = { data: offset }; break; }
      const next = nodes[node]![bit];
      if (next && 'node' in next) { node = next.node; continue; }
      if (next) throw new Error(`${n.cidr} overlaps another block`);
      nodes.push([null, null]);
      nodes[node]![bit] = { node: nodes.length - 1 };
      node = nodes.length - 1;
    }
  }
  const count = nodes.length;
  const record = (r: Ref) => (r === null ? count : 'node' in r ? r.node : count + 16 + r.data);
  const tree = Buffer.alloc(count * 6);
  nodes.forEach(([l, r], i) => {
    tree.writeUIntBE(record(l), i * 6, 3);
    tree.writeUIntBE(record(r), i * 6 + 3, 3);
  });
  const metadata = encode({
    binary_format_major_version: 2, binary_format_minor_version: 0, build_epoch: 1_790_000_000,
    database_type: databaseType, description: { en: 'MiniSOC test database' }, ip_version: 6,
    languages: ['en'], node_count: count, record_size: 24,
  });
  return Buffer.concat([tree, Buffer.alloc(16), Buffer.from(data), Buffer.from('ABCDEF4D61784D696E642E636F6D', 'hex'), Buffer.from(metadata)]);
}
