// A tiny MaxMind DB writer for tests (format: https://maxmind.github.io/MaxMind-DB/): an IPv6 tree with 24-bit
// records, IPv4 networks under ::/96, data values of maps, strings, unsigned ints and arrays. Not for production.
import ipaddr from "ipaddr.js";

export type MmdbValue = string | number | bigint | boolean | MmdbValue[] | { [k: string]: MmdbValue };

function ctrl(type: number, size: number): Buffer {
  // size encoding: < 29 in the control byte, then 1, 2 or 3 extra bytes
  let first: number;
  let extra: Buffer;
  if (size < 29) ((first = size), (extra = Buffer.alloc(0)));
  else if (size < 285) ((first = 29), (extra = Buffer.from([size - 29])));
  else if (size < 65821) ((first = 30), (extra = Buffer.from([(size - 285) >> 8, (size - 285) & 0xff])));
  else {
    const s = size - 65821;
    ((first = 31), (extra = Buffer.from([s >> 16, (s >> 8) & 0xff, s & 0xff])));
  }
  if (type <= 7) return Buffer.concat([Buffer.from([(type << 5) | first]), extra]);
  return Buffer.concat([Buffer.from([first]), Buffer.from([type - 7]), extra]);
}

function uintBytes(n: bigint): Buffer {
  const out: number[] = [];
  while (n > 0n) {
    out.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  return Buffer.from(out);
}

export function encode(v: MmdbValue): Buffer {
  if (typeof v === "string") {
    const b = Buffer.from(v, "utf8");
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (typeof v === "boolean") return ctrl(14, v ? 1 : 0);
  if (typeof v === "number" || typeof v === "bigint") {
    const n = BigInt(v);
    if (n < 0n) throw new Error("only unsigned integers");
    const b = uintBytes(n);
    const type = n < 1n << 16n ? 5 : n < 1n << 32n ? 6 : 9;
    return Buffer.concat([ctrl(type, b.length), b]);
  }
  if (Array.isArray(v)) return Buffer.concat([ctrl(11, v.length), ...v.map(encode)]);
  const entries = Object.entries(v);
  return Buffer.concat([ctrl(7, entries.length), ...entries.flatMap(([k, x]) => [encode(k), encode(x)])]);
}

interface Node {
  kids: [Node | number | null, Node | number | null];
}

/** Builds an MMDB: each network (CIDR, IPv4 or IPv6) maps to a record value. */
export function writeMmdb(databaseType: string, networks: Array<[string, MmdbValue]>): Buffer {
  const data: Buffer[] = [];
  let dataLen = 0;
  const root: Node = { kids: [null, null] };
  for (const [cidr, value] of networks) {
    const [addr, prefix] = ipaddr.parseCIDR(cidr);
    const bytes = addr.kind() === "ipv4" ? [...new Array<number>(12).fill(0), ...addr.toByteArray()] : addr.toByteArray();
    const bits = addr.kind() === "ipv4" ? prefix + 96 : prefix;
    const off = dataLen;
    const enc = encode(value);
    data.push(enc);
    dataLen += enc.length;
    let n = root;
    for (let i = 0; i < bits; i++) {
      const bit = (bytes[i >> 3]! >> (7 - (i & 7))) & 1;
      if (i === bits - 1) {
        n.kids[bit] = off;
        break;
      }
      let next = n.kids[bit];
      if (typeof next !== "object" || next === null) n.kids[bit] = next = { kids: [null, null] };
      n = next;
    }
  }
  // number the nodes breadth first
  const order: Node[] = [root];
  const index = new Map<Node, number>([[root, 0]]);
  for (let i = 0; i < order.length; i++) {
    for (const k of order[i]!.kids) {
      if (k !== null && typeof k === "object") {
        index.set(k, order.length);
        order.push(k);
      }
    }
  }
  const nodeCount = order.length;
  const tree = Buffer.alloc(nodeCount * 6);
  order.forEach((n, i) => {
    n.kids.forEach((k, side) => {
      const rec = k === null ? nodeCount : typeof k === "number" ? nodeCount + 16 + k : index.get(k)!;
      tree.writeUIntBE(rec, i * 6 + side * 3, 3);
    });
  });
  const meta = encode({
    node_count: nodeCount,
    record_size: 24,
    ip_version: 6,
    database_type: databaseType,
    languages: ["en"],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: BigInt(Math.floor(Date.now() / 1000)),
    description: { en: "relaytrap test fixture" },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, Buffer.from("\xab\xcd\xefMaxMind.com", "latin1"), meta]);
}
