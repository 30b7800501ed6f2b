// Every way to write an IP address as text that some parser on a delivery path might accept: for the outbound
// allow-list's property test (src/net/outbound.test.ts) and fuzz target (test/fuzz/targets.ts). Addresses are drawn
// from the special-purpose ranges of the IANA IPv4 and IPv6 registries, so none of them is a global destination.
import fc from "fast-check";
import ipaddr from "ipaddr.js";

/** IPv4 special-purpose ranges (IANA), plus multicast and reserved: nothing here may be dialled via MX. */
export const NON_GLOBAL_V4 = [
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
  "192.0.2.0/24", "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24",
  "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
];

/** IPv6 special-purpose ranges (IANA), multicast, and space outside global unicast 2000::/3. IPv4-mapped
 * (::ffff:0:0/96) and NAT64 (64:ff9b::/96) are the IPv4 address they carry: ipv4InIpv6Forms covers them. */
export const NON_GLOBAL_V6 = [
  "::/128", "::1/128", "::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
  "2001::/32", "2001:2::/48", "2001:db8::/32", "2002::/16", "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10",
  "fec0::/10", "ff00::/8", "4000::/2", "8000::/1", "::/3",
];

const hex = (n: number) => n.toString(16);

/** A random address inside a CIDR range, as bytes. */
function inRange(cidr: string, random: number[]): number[] {
  const [addr, bits] = ipaddr.parseCIDR(cidr);
  const bytes = addr.toByteArray();
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    return (b & mask) | ((random[i] ?? 0) & ~mask & 0xff);
  });
}

/** Textual forms of an IPv4 address: dotted quad and the inet_aton shorthands (octal, hex, fewer parts, dotless). */
export function ipv4Forms(b: number[]): string[] {
  const [a, c, d, e] = b as [number, number, number, number];
  const n = ((a << 24) >>> 0) + (c << 16) + (d << 8) + e;
  return [
    `${a}.${c}.${d}.${e}`,
    [a, c, d, e].map((x) => `0${x.toString(8)}`).join("."),
    [a, c, d, e].map((x) => `0x${hex(x)}`).join("."),
    [a, c, d, e].map((x) => `0X${hex(x).toUpperCase()}`).join("."),
    `${a}.${(c << 16) + (d << 8) + e}`,
    `0x${hex(a)}.${(c << 16) + (d << 8) + e}`,
    `${a}.${c}.${(d << 8) + e}`,
    `${n}`,
    `0x${hex(n)}`,
    `0${n.toString(8)}`,
    `${a}.${c}.${d}.${e}.`,
    ` ${a}.${c}.${d}.${e}`,
  ];
}

/** IPv6 wrappings of an IPv4 address: mapped, translated, compatible, NAT64 (both prefixes), 6to4, Teredo. */
export function ipv4InIpv6Forms(b: number[]): string[] {
  const [a, c, d, e] = b as [number, number, number, number];
  const q = `${a}.${c}.${d}.${e}`;
  const hi = (a << 8) + c;
  const lo = (d << 8) + e;
  const p4 = (x: number) => hex(x).padStart(4, "0");
  return [
    `::ffff:${q}`, `::FFFF:${q}`, `0::ffff:${q}`, `::ffff:${hex(hi)}:${hex(lo)}`, `0:0:0:0:0:ffff:${hex(hi)}:${hex(lo)}`,
    `0000:0000:0000:0000:0000:FFFF:${p4(hi)}:${p4(lo)}`, `0:0:0:0:0:ffff:${q}`, `::ffff:0:${q}`, `::ffff:0:${hex(hi)}:${hex(lo)}`,
    `::${q}`, `::${hex(hi)}:${hex(lo)}`, `0:0:0:0:0:0:${q}`,
    `64:ff9b::${q}`, `64:ff9b::${hex(hi)}:${hex(lo)}`, `0064:FF9B:0000:0000:0000:0000:${p4(hi)}:${p4(lo)}`, `64:ff9b:1::${hex(hi)}:${hex(lo)}`,
    `2002:${hex(hi)}:${hex(lo)}::1`, `2002:${hex(hi)}:${hex(lo)}:1::${q}`,
    `2001:0:4136:e378:8000:63bf:${hex(~hi & 0xffff)}:${hex(~lo & 0xffff)}`, `2001::${hex(~hi & 0xffff)}:${hex(~lo & 0xffff)}`,
  ];
}

/** Textual forms of an IPv6 address: compressed, uncompressed, zero-padded, upper case, dotted tail, zone id. */
export function ipv6Forms(bytes: number[]): string[] {
  const a = ipaddr.fromByteArray(bytes) as ipaddr.IPv6;
  const words = a.parts;
  const [w6, w7] = [words[6]!, words[7]!];
  const dotted = `${words.slice(0, 6).map(hex).join(":")}:${w6 >> 8}.${w6 & 0xff}.${w7 >> 8}.${w7 & 0xff}`;
  const fixed = words.map((w) => hex(w).padStart(4, "0")).join(":");
  return [a.toString(), a.toNormalizedString(), fixed, fixed.toUpperCase(), dotted, `${a.toString()}%lo`, `${a.toString()}%25eth0`];
}

export interface IpSample {
  /** What the sample is, for failure messages ("127.0.0.0/8 127.3.4.5"). */
  label: string;
  forms: string[];
}

const randomBytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 });

/** A non-global address and all its textual forms (IPv4 ones include every IPv6 wrapping). */
export const nonGlobalSample: fc.Arbitrary<IpSample> = fc.oneof(
  fc.tuple(fc.constantFrom(...NON_GLOBAL_V4), randomBytes).map(([cidr, r]) => {
    const b = inRange(cidr, r);
    return { label: `${cidr} ${b.join(".")}`, forms: [...ipv4Forms(b), ...ipv4InIpv6Forms(b)] };
  }),
  fc.tuple(fc.constantFrom(...NON_GLOBAL_V6), randomBytes).map(([cidr, r]) => {
    const b = inRange(cidr, r);
    return { label: `${cidr} ${ipaddr.fromByteArray(b).toString()}`, forms: ipv6Forms(b) };
  }),
);

/** Any text that looks more or less like an address: for the fuzz target (anything in, a verdict out, no throw). */
export const ipLikeText: fc.Arbitrary<string> = fc.oneof(
  nonGlobalSample.chain((s) => fc.constantFrom(...s.forms)),
  randomBytes.map((r) => ipv4Forms(r.slice(0, 4))[r[4]! % 12]!),
  randomBytes.map((r) => ipv6Forms(r)[r[0]! % 7]!),
  randomBytes.map((r) => ipv4InIpv6Forms(r.slice(0, 4))[r[4]! % 20]!),
  fc.stringMatching(/^[0-9a-fA-FxX:.%]{0,45}$/),
  fc.string({ maxLength: 50 }),
);
