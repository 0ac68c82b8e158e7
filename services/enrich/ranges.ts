// Address ranges (CIDR blocks, possibly nested or overlapping) as sorted disjoint segments with binary-search lookup.

/** One listed block: first and last address, prefix length, and what to report when it matches. */
export interface Block<K extends number | bigint, T> {
  start: K;
  end: K;
  len: number;
  item: T;
}

/**
 * Cuts overlapping blocks into disjoint segments, each with the items of every block covering it
 * (reduced by `pick`, e.g. to the most specific block per feed). Segments come out sorted.
 */
function segment<K extends number | bigint, T>(
  blocks: Block<K, T>[], cmp: (a: K, b: K) => number, succ: (k: K) => K, pick: (covering: Block<K, T>[]) => T[],
): { starts: K[]; ends: K[]; items: T[][] } {
  const sorted = [...blocks].sort((a, b) => cmp(a.start, b.start) || cmp(b.end, a.end));
  const points: K[] = [];
  for (const b of sorted) points.push(b.start, succ(b.end));
  points.sort(cmp);
  const starts: K[] = [];
  const ends: K[] = [];
  const items: T[][] = [];
  let active: Block<K, T>[] = [];
  let next = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i]!;
    if (i > 0 && cmp(points[i - 1]!, p) === 0) continue;
    if (active.length && active.some((b) => cmp(b.end, p) < 0)) active = active.filter((b) => cmp(b.end, p) >= 0);
    while (next < sorted.length && cmp(sorted[next]!.start, p) === 0) active = [...active, sorted[next++]!];
    if (!active.length) continue;
    let j = i + 1;
    while (j < points.length && cmp(points[j]!, p) === 0) j++;
    if (j >= points.length) break;
    const end = points[j]!;
    starts.push(p);
    ends.push((typeof end === 'bigint' ? end - 1n : (end as number) - 1) as K);
    items.push(pick(active));
  }
  return { starts, ends, items };
}

const cmpNumber = (a: number, b: number) => a - b;
const cmpBigInt = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** IPv4 blocks; addresses are unsigned 32-bit numbers. */
export class RangeTable4<T> {
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private readonly items: T[][];

  constructor(blocks: Block<number, T>[], pick: (covering: Block<number, T>[]) => T[]) {
    const s = segment(blocks, cmpNumber, (k) => k + 1, pick);
    this.starts = Uint32Array.from(s.starts);
    this.ends = Uint32Array.from(s.ends);
    this.items = s.items;
  }

  get segments(): number {
    return this.starts.length;
  }

  /** The items of the blocks containing `addr`, or undefined: one binary search. */
  lookup(addr: number): T[] | undefined {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! <= addr) lo = mid + 1; else hi = mid - 1;
    }
    return hi >= 0 && addr <= this.ends[hi]! ? this.items[hi] : undefined;
  }
}

/** IPv6 blocks; an address is four unsigned 32-bit words, compared most significant first. */
export class RangeTable6<T> {
  private readonly starts: Uint32Array;
  private readonly ends: Uint32Array;
  private readonly items: T[][];

  constructor(blocks: Block<bigint, T>[], pick: (covering: Block<bigint, T>[]) => T[]) {
    const s = segment(blocks, cmpBigInt, (k) => k + 1n, pick);
    this.starts = words(s.starts);
    this.ends = words(s.ends);
    this.items = s.items;
  }

  get segments(): number {
    return this.items.length;
  }

  lookup(w: Uint32Array): T[] | undefined {
    let lo = 0;
    let hi = this.items.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.starts, mid, w) <= 0) lo = mid + 1; else hi = mid - 1;
    }
    return hi >= 0 && compare(this.ends, hi, w) >= 0 ? this.items[hi] : undefined;
  }
}

function words(keys: bigint[]): Uint32Array {
  const out = new Uint32Array(keys.length * 4);
  keys.forEach((k, i) => {
    for (let j = 3; j >= 0; j--) { out[i * 4 + j] = Number(k & 0xffffffffn); k >>= 32n; }
  });
  return out;
}

/** Sign of (table entry i) - w. */
function compare(table: Uint32Array, i: number, w: Uint32Array): number {
  const o = i * 4;
  for (let j = 0; j < 4; j++) {
    const d = table[o + j]! - w[j]!;
    if (d !== 0) return d;
  }
  return 0;
}
