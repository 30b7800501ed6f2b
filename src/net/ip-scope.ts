// Which IP addresses are global unicast destinations: the classifier behind the outbound allow-list (outbound.ts).
// Text is parsed strictly (only what Node itself would dial as an IP: no zone ids, no inet_aton shorthands such as
// "0x7f.1", "2130706433" or "0177.0.0.1"), by two parsers that must agree on the bytes (Node's inet_pton and
// ipaddr.js), and judged by ipaddr.js's ranges and the IANA special-purpose registries, in canonical form only.
// IPv6 addresses that carry an IPv4 address are judged by it (IPv4-mapped, NAT64 64:ff9b::/96) or refused outright
// (IPv4-compatible, IPv4-translated, local-use NAT64 64:ff9b:1::/48, 6to4, Teredo: tunnels, never mail servers).
import { isIP, SocketAddress } from "node:net";
import ipaddr from "ipaddr.js";

/** Longest text taken for an IP address (a full IPv6 with dotted tail is 45). */
export const MAX_IP_TEXT = 64;

export interface IpScope {
  /** The address in canonical form (IPv4 dotted quad, IPv4-mapped IPv6 as its IPv4, IPv6 per RFC 5952); null when
   * the text is not an IP address Node would dial as one. */
  canonical: string | null;
  /** The IPv4 address an IPv6 address carries (NAT64, 6to4, Teredo, IPv4-compatible, IPv4-translated), canonical. */
  embedded: string | null;
  /** null: a global unicast address; else why not ("loopback", "private", "6to4 of 127.0.0.1", ...). */
  reason: string | null;
  /** A unicast address of a local network (private, loopback, link-local, ULA, CGNAT, documentation, benchmarking):
   * what `delivery.allowPrivateMx` may let through. Never true for tunnels, multicast, unspecified or reserved space. */
  local: boolean;
}

/** Ranges of the IANA special-purpose registries, checked besides ipaddr.js's own table (in case a version lacks one). */
const IANA_NON_GLOBAL: Array<[string, string]> = [
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.31.196.0/24", "AS112"],
  ["192.52.193.0/24", "AMT"],
  ["192.88.99.0/24", "6to4 relay anycast (deprecated)"],
  ["192.175.48.0/24", "AS112"],
  ["::/96", "IPv4-compatible (deprecated)"],
  ["100::/64", "discard"],
  ["2001::/23", "IETF protocol assignments"],
  ["2620:4f:8000::/48", "AS112"],
  ["3fff::/20", "documentation"],
  ["5f00::/16", "SRv6 SIDs"],
];
const IANA_PARSED = IANA_NON_GLOBAL.map(([cidr, label]) => ({ range: ipaddr.parseCIDR(cidr), label }));

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR("2000::/3");
const NAT64_WELL_KNOWN = ipaddr.parseCIDR("64:ff9b::/96");
const V4_DOCUMENTATION = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"].map((c) => ipaddr.parseCIDR(c));
const V4_BENCHMARKING = ipaddr.parseCIDR("198.18.0.0/15");
const V6_DOCUMENTATION = ["2001:db8::/32", "3fff::/20"].map((c) => ipaddr.parseCIDR(c));

const V4_LABELS: Record<string, { label: string; local: boolean }> = {
  unspecified: { label: "unspecified", local: false },
  broadcast: { label: "broadcast", local: false },
  multicast: { label: "multicast", local: false },
  linkLocal: { label: "link-local", local: true },
  loopback: { label: "loopback", local: true },
  carrierGradeNat: { label: "shared (CGNAT)", local: true },
  private: { label: "private", local: true },
  reserved: { label: "reserved", local: false },
  as112: { label: "AS112", local: false },
  amt: { label: "AMT", local: false },
};

const V6_LABELS: Record<string, { label: string; local: boolean }> = {
  unspecified: { label: "unspecified", local: false },
  linkLocal: { label: "link-local", local: true },
  multicast: { label: "multicast", local: false },
  loopback: { label: "loopback", local: true },
  uniqueLocal: { label: "private (ULA)", local: true },
  deprecatedSiteLocal: { label: "site-local", local: true },
  discard: { label: "discard", local: false },
  benchmarking: { label: "benchmarking", local: true },
  amt: { label: "AMT", local: false },
  as112v6: { label: "AS112", local: false },
  deprecatedOrchid: { label: "ORCHID", local: false },
  orchid2: { label: "ORCHIDv2", local: false },
  droneRemoteIdProtocolEntityTags: { label: "DRIP", local: false },
  segmentRouting: { label: "SRv6 SIDs", local: false },
  reserved: { label: "reserved", local: false },
};

/** "…:1.2.3.4" -> "…:102:304": ipaddr.js reads "::1.2.3.4" as IPv4-mapped, inet_pton as IPv4-compatible. */
function hexTail(v6: string): string {
  const m = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v6);
  if (!m) return v6;
  const [a, b, c, d] = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  return `${m[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function sameBytes(x: number[], y: number[]): boolean {
  return x.length === y.length && x.every((b, i) => b === y[i]);
}

/** Parses `text` as an IP address, strictly; null unless Node and ipaddr.js both read it, as the same bytes. */
export function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (typeof text !== "string" || text.length === 0 || text.length > MAX_IP_TEXT || text.includes("%")) return null;
  const family = isIP(text);
  if (family === 4) {
    if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return null;
    const a = ipaddr.IPv4.parse(text);
    const node = new SocketAddress({ address: text, family: "ipv4" }).address;
    return node === a.toString() ? a : null;
  }
  if (family === 6) {
    const hex = hexTail(text);
    if (!ipaddr.IPv6.isValid(hex)) return null;
    const a = ipaddr.IPv6.parse(hex);
    // Node's own reading (inet_pton), back to bytes: the address a socket would be opened to.
    const node = ipaddr.IPv6.parse(hexTail(new SocketAddress({ address: text, family: "ipv6" }).address));
    return sameBytes(a.toByteArray(), node.toByteArray()) ? a : null;
  }
  return null;
}

function v4Text(bytes: number[]): string {
  return bytes.join(".");
}

/** The canonical text of an IP address (IPv4-mapped IPv6 as IPv4), or null when `text` is not one (strictly). */
export function canonicalIp(text: string): string | null {
  const a = parseIp(text);
  if (!a) return null;
  if (a.kind() === "ipv4") return a.toString();
  const v6 = a as ipaddr.IPv6;
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address().toString() : v6.toRFC5952String();
}

function scopeV4(a: ipaddr.IPv4): { reason: string | null; local: boolean } {
  const range = a.range();
  if (range === "unicast") {
    for (const { range: r, label } of IANA_PARSED) if (r[0].kind() === "ipv4" && a.match(r)) return { reason: label, local: false };
    return { reason: null, local: false };
  }
  if (range === "reserved") {
    if (V4_DOCUMENTATION.some((r) => a.match(r))) return { reason: "documentation", local: true };
    if (a.match(V4_BENCHMARKING)) return { reason: "benchmarking", local: true };
  }
  const l = V4_LABELS[range] ?? { label: range, local: false };
  return { reason: l.label, local: l.local };
}

const NOT_AN_IP: IpScope = { canonical: null, embedded: null, reason: "not an IP address", local: false };

/** Where an address may be dialled: canonical form, the IPv4 it carries, and why it is not global (null: it is). */
export function classifyIp(text: string): IpScope {
  const a = parseIp(text);
  if (!a) return NOT_AN_IP;
  if (a.kind() === "ipv4") return { canonical: a.toString(), embedded: null, ...scopeV4(a as ipaddr.IPv4) };
  const v6 = a as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) {
    const v4 = v6.toIPv4Address();
    return { canonical: v4.toString(), embedded: null, ...scopeV4(v4) };
  }
  const canonical = v6.toRFC5952String();
  const b = v6.toByteArray();
  const tail = v4Text(b.slice(12, 16));
  const range = v6.range();
  const refuse = (reason: string, embedded: string | null = null): IpScope => ({ canonical, embedded, reason, local: false });

  if (v6.match(NAT64_WELL_KNOWN)) {
    // DNS64 answers: a NAT64 gateway dials the IPv4 address inside, so that address is what is judged.
    const inner = scopeV4(ipaddr.IPv4.parse(tail));
    return { canonical, embedded: tail, reason: inner.reason === null ? null : `NAT64 of ${tail}: ${inner.reason}`, local: false };
  }
  if (range === "rfc6052") return refuse(`local-use NAT64 (64:ff9b:1::/48)`);
  if (range === "rfc6145") return refuse(`IPv4-translated ${tail}`, tail);
  if (range === "6to4") {
    const inner = v4Text(b.slice(2, 6));
    return refuse(`6to4 (deprecated) of ${inner}`, inner);
  }
  if (range === "teredo") {
    const inner = v4Text(b.slice(12, 16).map((x) => ~x & 0xff));
    return refuse(`Teredo of ${inner}`, inner);
  }
  if (range === "unicast") {
    if (b.slice(0, 12).every((x) => x === 0)) return refuse(`IPv4-compatible (deprecated) ${tail}`, tail);
    for (const { range: r, label } of IANA_PARSED) if (r[0].kind() === "ipv6" && v6.match(r)) return refuse(label);
    if (!v6.match(GLOBAL_UNICAST_V6)) return refuse("not global unicast (outside 2000::/3)");
    return { canonical, embedded: null, reason: null, local: false };
  }
  if (range === "reserved" && V6_DOCUMENTATION.some((r) => v6.match(r))) return { canonical, embedded: null, reason: "documentation", local: true };
  const l = V6_LABELS[range] ?? { label: range, local: false };
  return { canonical, embedded: null, reason: l.label, local: l.local };
}
