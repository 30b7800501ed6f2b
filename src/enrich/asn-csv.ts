// The shipped ASN table (@ip-location-db/asn, `start,end,asn,name` with numeric ranges) in sorted typed arrays, looked
// up by binary search. Parsed in slices that yield to the event loop, so loading it never stalls live sessions.
import { readFile } from "node:fs/promises";
import { setImmediate as yieldNow } from "node:timers/promises";

/** CSV lines parsed between two yields to the event loop while loading. */
const LINES_PER_SLICE = 5_000;

export interface AsnHit {
  asn: number;
  name: string;
}

export interface AsnTable {
  lookup4(ip: number): AsnHit | null;
  /** IPv6 as two 64-bit halves. */
  lookup6(hi: bigint, lo: bigint): AsnHit | null;
  readonly ranges: number;
}

/** One CSV line of 4 fields (start,end,asn,name; only the name may be quoted, "" for a quote) read from the bytes
 * [from, to): the numbers as text, the name as a new string (not a slice that would keep the whole file alive). */
function fields(buf: Buffer, from: number, to: number): [string, string, number, string] | null {
  const a = buf.indexOf(44, from);
  const b = a < 0 ? -1 : buf.indexOf(44, a + 1);
  const c = b < 0 ? -1 : buf.indexOf(44, b + 1);
  if (a < 0 || b < 0 || c < 0 || c >= to) return null;
  let asn = 0;
  for (let i = b + 1; i < c; i++) asn = asn * 10 + (buf[i]! - 48);
  let end = to;
  if (buf[end - 1] === 13) end--;
  let name: string;
  if (buf[c + 1] === 34 && buf[end - 1] === 34 && end - c >= 3) name = buf.toString("utf8", c + 2, end - 1).replace(/""/g, '"');
  else name = buf.toString("utf8", c + 1, end);
  return [buf.toString("latin1", from, a), buf.toString("latin1", a + 1, b), asn, name];
}

/** Calls fn for each line of the file, yielding to the event loop every LINES_PER_SLICE lines. */
async function eachLine(path: string, fn: (buf: Buffer, from: number, to: number) => void): Promise<void> {
  const buf = await readFile(path);
  let from = 0;
  let n = 0;
  while (from < buf.length) {
    let to = buf.indexOf(10, from);
    if (to < 0) to = buf.length;
    if (to > from) fn(buf, from, to);
    from = to + 1;
    if (++n % LINES_PER_SLICE === 0) await yieldNow();
  }
}

function growU32(a: Uint32Array, n: number): Uint32Array {
  if (n < a.length) return a;
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}

function growU64(a: BigUint64Array, n: number): BigUint64Array {
  if (n < a.length) return a;
  const b = new BigUint64Array(a.length * 2);
  b.set(a);
  return b;
}

const MASK64 = (1n << 64n) - 1n;

/** Loads the IPv4 and (when given) IPv6 numeric CSV files. Names are interned: one string per distinct AS name. */
export async function loadAsnCsv(v4Path: string, v6Path: string | null): Promise<AsnTable> {
  const names: string[] = [];
  const nameIdx = new Map<string, number>();
  const intern = (s: string): number => {
    let i = nameIdx.get(s);
    if (i === undefined) {
      i = names.length;
      names.push(s);
      nameIdx.set(s, i);
    }
    return i;
  };

  // IPv4: start, end, asn, name index per range
  let s4: Uint32Array = new Uint32Array(1 << 16);
  let e4: Uint32Array = new Uint32Array(1 << 16);
  let a4: Uint32Array = new Uint32Array(1 << 16);
  let n4i: Uint32Array = new Uint32Array(1 << 16);
  let n4 = 0;
  await eachLine(v4Path, (buf, from, to) => {
    const f = fields(buf, from, to);
    if (!f) return;
    s4 = growU32(s4, n4);
    e4 = growU32(e4, n4);
    a4 = growU32(a4, n4);
    n4i = growU32(n4i, n4);
    s4[n4] = Number(f[0]);
    e4[n4] = Number(f[1]);
    a4[n4] = f[2];
    n4i[n4] = intern(f[3]);
    n4++;
  });

  // IPv6: start and end as hi/lo 64-bit halves
  let s6h: BigUint64Array = new BigUint64Array(1 << 14);
  let s6l: BigUint64Array = new BigUint64Array(1 << 14);
  let e6h: BigUint64Array = new BigUint64Array(1 << 14);
  let e6l: BigUint64Array = new BigUint64Array(1 << 14);
  let a6: Uint32Array = new Uint32Array(1 << 14);
  let n6i: Uint32Array = new Uint32Array(1 << 14);
  let n6 = 0;
  if (v6Path !== null) {
    await eachLine(v6Path, (buf, from, to) => {
      const f = fields(buf, from, to);
      if (!f) return;
      let st: bigint, en: bigint;
      try {
        st = BigInt(f[0]);
        en = BigInt(f[1]);
      } catch {
        return;
      }
      s6h = growU64(s6h, n6);
      s6l = growU64(s6l, n6);
      e6h = growU64(e6h, n6);
      e6l = growU64(e6l, n6);
      a6 = growU32(a6, n6);
      n6i = growU32(n6i, n6);
      s6h[n6] = st >> 64n;
      s6l[n6] = st & MASK64;
      e6h[n6] = en >> 64n;
      e6l[n6] = en & MASK64;
      a6[n6] = f[2];
      n6i[n6] = intern(f[3]);
      n6++;
    });
  }
  // The files are sorted by start; trim the arrays to what was read.
  s4 = s4.slice(0, n4);
  e4 = e4.slice(0, n4);
  a4 = a4.slice(0, n4);
  n4i = n4i.slice(0, n4);
  s6h = s6h.slice(0, n6);
  s6l = s6l.slice(0, n6);
  e6h = e6h.slice(0, n6);
  e6l = e6l.slice(0, n6);
  a6 = a6.slice(0, n6);
  n6i = n6i.slice(0, n6);
  nameIdx.clear();

  const nameOf = (i: number): string => names[i]!;

  return {
    ranges: n4 + n6,
    lookup4(ip) {
      // last range whose start <= ip
      let lo = 0;
      let hi = n4 - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (s4[mid]! <= ip) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (at < 0 || e4[at]! < ip) return null;
      return { asn: a4[at]!, name: nameOf(n4i[at]!) };
    },
    lookup6(h, l) {
      const le = (ah: bigint, al: bigint, bh: bigint, bl: bigint) => ah < bh || (ah === bh && al <= bl);
      let lo = 0;
      let hi = n6 - 1;
      let at = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1;
        if (le(s6h[mid]!, s6l[mid]!, h, l)) {
          at = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (at < 0 || !le(h, l, e6h[at]!, e6l[at]!)) return null;
      return { asn: a6[at]!, name: nameOf(n6i[at]!) };
    },
  };
}
