// IP address helpers for analysis: validate, normalise (RFC 5952, IPv4-mapped -> IPv4) and find IPs in text.
// Every regex here is linear: single character classes, bounded repetitions, no nested quantifiers.
import { isIPv4, isIPv6 } from "node:net";

/** Parse a dotted quad whose octets are 1-3 decimal digits (leading zeros allowed); null when not an IPv4. */
export function parseIpv4(s: string): number[] | null {
  // One pass over the characters: split(".") and a /^\d{1,3}$/ test per part, without the parts.
  const out: number[] = [];
  let n = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // the end closes the last octet like a "."
    if (c === 46) {
      if (digits === 0 || n > 255 || out.length === 4) return null;
      out.push(n);
      n = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      n = n * 10 + (c - 48);
      digits++;
    } else return null;
  }
  return out.length === 4 ? out : null;
}

export function ipv4FromInt(n: number): string | null {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) return null;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export function ipv4ToInt(ip: string): number | null {
  const o = parseIpv4(ip);
  if (!o) return null;
  return ((o[0] ?? 0) * 2 ** 24) + ((o[1] ?? 0) << 16) + ((o[2] ?? 0) << 8) + (o[3] ?? 0);
}

/** DNSBL-style reversal: 23.100.51.198 <-> 198.51.100.23. */
export function reverseIpv4(ip: string): string | null {
  const o = parseIpv4(ip);
  return o ? o.reverse().join(".") : null;
}

function ipv6Groups(s: string): number[] | null {
  if (!isIPv6(s)) return null;
  let text = s;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  const lastColon = text.lastIndexOf(":");
  const maybeV4 = text.slice(lastColon + 1);
  if (maybeV4.includes(".")) {
    const o = parseIpv4(maybeV4);
    if (!o) return null;
    const hi = (((o[0] ?? 0) << 8) | (o[1] ?? 0)).toString(16);
    const lo = (((o[2] ?? 0) << 8) | (o[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const toNums = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const dbl = text.indexOf("::");
  let groups: number[];
  if (dbl >= 0) {
    const head = toNums(text.slice(0, dbl));
    const rest = toNums(text.slice(dbl + 2));
    const fill = 8 - head.length - rest.length;
    if (fill < 0) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = toNums(text);
  }
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return groups;
}

/**
 * Canonical form of an IP: IPv4 as plain dotted decimal, IPv6 as RFC 5952 (lower case, longest zero run as "::"),
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4. Brackets and an "IPv6:" prefix are stripped. Null when not an IP.
 */
export function normaliseIp(input: string): string | null {
  let s = input.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (/^ipv6:/i.test(s)) s = s.slice(5);
  const v4 = parseIpv4(s);
  if (v4) return v4.join(".");
  if (s.length > 64) return null;
  const g = ipv6Groups(s);
  if (!g) return null;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const a = g[6] ?? 0;
    const b = g[7] ?? 0;
    return [a >> 8, a & 255, b >> 8, b & 255].join(".");
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

export function isIp(s: string): boolean {
  return isIPv4(s) || isIPv6(s) || normaliseIp(s) !== null;
}

/** An IP found in text: canonical ip, the exact text, where it starts and ends. */
export interface IpMatch {
  ip: string;
  text: string;
  index: number;
  end: number;
  /** Other readings of the same decoded text: shorter first octets, in case digits before it belong to something else. */
  alternatives?: string[];
  /** The first octet does not start cleanly (not after a separator or at the start): a digit may be glued to it. */
  glued?: boolean;
}

// A dotted quad not glued to a preceding digit or dot, and not continued by a digit or ".digit".
const IPV4_STRICT = /(?<![0-9]|[0-9]\.)\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![0-9]|\.\d)/g;
// A dotted quad anywhere (decoded bytes); up to 16 digits before the first dot (bounded: no quadratic scan of long digit runs).
const IPV4_LOOSE = /\d{1,16}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?!\d|\.\d)/g;

/**
 * Canonical form of a string already matching \d{1,3}(\.\d{1,3}){3} (what normaliseIp returns for it), without the
 * split/regex work of parseIpv4: the hot path of every text scan.
 */
function canonicalDottedQuad(s: string): string | null {
  let out = "";
  let n = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (n > 255) return null;
      out += out === "" ? String(n) : `.${n}`;
      n = 0;
    } else n = n * 10 + (c - 48);
  }
  return out;
}

/** Plain dotted IPv4 addresses in ordinary text (strict boundaries). `digits`: hasDigit(text), when the caller knows it. */
export function findIpv4(text: string, digits = hasDigit(text)): IpMatch[] {
  const out: IpMatch[] = [];
  if (!digits) return out;
  IPV4_STRICT.lastIndex = 0;
  for (let m = IPV4_STRICT.exec(text); m !== null; m = IPV4_STRICT.exec(text)) {
    const ip = canonicalDottedQuad(m[0]);
    if (ip) out.push({ ip, text: m[0], index: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Texts up to this long are checked for a digit by one loop; longer ones by ten indexOf calls. */
const SHORT_DIGIT_SCAN = 64;

/** True when text holds a decimal digit: every dotted, dotless and digit-encoded IP form needs one. */
export function hasDigit(text: string): boolean {
  // Most texts checked are short (local parts, header values): one pass beats ten builtin calls there.
  if (text.length <= SHORT_DIGIT_SCAN) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 48 && c <= 57) return true;
    }
    return false;
  }
  // Ten indexOf calls (a memchr each) beat /\d/, which steps through the text one character at a time.
  return (
    text.indexOf("0") >= 0 ||
    text.indexOf("1") >= 0 ||
    text.indexOf("2") >= 0 ||
    text.indexOf("3") >= 0 ||
    text.indexOf("4") >= 0 ||
    text.indexOf("5") >= 0 ||
    text.indexOf("6") >= 0 ||
    text.indexOf("7") >= 0 ||
    text.indexOf("8") >= 0 ||
    text.indexOf("9") >= 0
  );
}

// Bytes after which a dotted quad in decoded text starts cleanly (anything else may be garbage glued to it).
const CLEAN_BEFORE = new Set([..." \t\r\n:=|,;[(<\"'/@#&?"].map((c) => c.charCodeAt(0)));

/**
 * Dotted IPv4 addresses in decoded bytes (as latin1 text). The longest valid reading of the first octet wins; the
 * shorter valid readings are listed in `alternatives`, because decoded garbage may have glued digits to it
 * ("`80.0.0.0:1" may be 0.0.0.0, and random bytes can end in a separator and a digit too: "\0\r3" + "0.0.0.0:1").
 * An alternative only counts when it is a sensor address and the longest reading is not (analysis/index.ts).
 * `glued` marks the visibly ambiguous case, where the digits do not follow a separator.
 */
export function findIpv4Loose(text: string): IpMatch[] {
  const out: IpMatch[] = [];
  // exec on the shared regex: matchAll would clone it (a new RegExp per call)
  IPV4_LOOSE.lastIndex = 0;
  for (let m = IPV4_LOOSE.exec(text); m !== null; m = IPV4_LOOSE.exec(text)) {
    const s = m[0];
    const firstDot = s.indexOf(".");
    const run = s.slice(0, firstDot);
    const rest = s.slice(firstDot);
    const clean = run.length <= 3 && (m.index === 0 || CLEAN_BEFORE.has(text.charCodeAt(m.index - 1)));
    const readings: IpMatch[] = [];
    for (let len = Math.min(3, run.length); len >= 1; len--) {
      const cand = run.slice(run.length - len) + rest;
      const ip = normaliseIp(cand);
      if (ip) readings.push({ ip, text: cand, index: m.index + run.length - len, end: m.index + s.length });
    }
    const [primary, ...others] = readings;
    if (!primary) continue;
    if (others.length > 0) primary.alternatives = others.map((x) => x.ip);
    if (!clean) primary.glued = true;
    out.push(primary);
  }
  return out;
}

function isV6Char(c: number): boolean {
  return (c >= 48 && c <= 58) || c === 46 || (c >= 65 && c <= 70) || (c >= 97 && c <= 102); // 0-9 : . A-F a-f
}

/** Longest text an IPv6 token may have ("ffff:...:255.255.255.255" is 45). */
const MAX_V6_TOKEN = 64;
const WORD_CHAR = /[A-Za-z0-9_]/;
const IPV_END = /ipv$/i;

/** IPv6 addresses in text (at least two colons, validated by node:net). "::" alone is ignored. Scans from each colon. */
export function findIpv6(text: string): IpMatch[] {
  const out: IpMatch[] = [];
  let pos = 0;
  for (;;) {
    const colon = text.indexOf(":", pos);
    if (colon < 0) break;
    let a = colon;
    while (a > 0 && isV6Char(text.charCodeAt(a - 1))) a--;
    let b = colon + 1;
    while (b < text.length && isV6Char(text.charCodeAt(b))) b++;
    pos = b;
    if (b - a > MAX_V6_TOKEN) continue;
    // one colon only ("https:", "Subject:", "10:30"): not an IPv6, and no need to cut the token out
    if (text.indexOf(":", a) === text.lastIndexOf(":", b - 1)) continue;
    let s = text.slice(a, b);
    let index = a;
    const before = index > 0 ? text.charAt(index - 1) : "";
    if (WORD_CHAR.test(before)) {
      // "IPv6:2001:db8::1" tokenises as "6:2001:db8::1" after "IPv"
      if (IPV_END.test(text.slice(Math.max(0, index - 3), index)) && s.startsWith("6:")) {
        s = s.slice(2);
        index += 2;
      } else continue;
    }
    while (s.endsWith(".") || (s.endsWith(":") && !s.endsWith("::"))) s = s.slice(0, -1);
    if (s === "::" || !isIPv6(s)) continue;
    const ip = normaliseIp(s);
    if (ip) out.push({ ip, text: s, index, end: index + s.length });
  }
  return out;
}

/** All plain IPs (v4 and v6) in text, in order of appearance. `v4` = findIpv4(text) when the caller has it already. */
export function findIps(text: string, v4: readonly IpMatch[] = findIpv4(text)): IpMatch[] {
  const v6 = findIpv6(text);
  if (v6.length === 0) return [...v4];
  const kept = v4.filter((a) => !v6.some((b) => a.index >= b.index && a.end <= b.end));
  return [...kept, ...v6].sort((a, b) => a.index - b.index);
}
