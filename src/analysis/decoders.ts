// Relay-test IP decoders: one pure function per encoding spammers use to carry the tested relay's IP.
// Each takes a text and the field it came from and returns findings; analyze() weighs them by position.
import { findIps, findIpv4, findIpv4Loose, ipv4FromInt, normaliseIp, reverseIpv4, type IpMatch } from "./ip.js";

/** What a decoder found, before weighting. `strong` = the encoding itself is unlikely to be accidental. */
export interface Finding {
  decoder: string;
  field: string;
  found: string;
  ip?: string;
  strong: boolean;
  reversed?: boolean;
  /** Other readings of the same decoded bytes (first octet ambiguous); analyze prefers one that is a sensor IP. */
  alternatives?: string[];
}

/** Longest excerpt kept in an evidence entry. */
export const MAX_FOUND_CHARS = 120;

const CONTROL_CHARS = /[\x00-\x1f\x7f]/g;

export function excerpt(s: string): string {
  const flat = s.replace(CONTROL_CHARS, ".");
  return flat.length > MAX_FOUND_CHARS ? `${flat.slice(0, MAX_FOUND_CHARS)}...` : flat;
}

// A dotted quad directly followed by ".in-addr.arpa" or by a host name is a DNSBL-style reversed query.
const DNS_SUFFIX = /^\.(?:in-addr\.arpa|[a-z][a-z0-9-]{0,62}\.[a-z][a-z0-9.-]{0,200})/i;

const URL_HOST_BEFORE = /:\/\/\[?$/;

function urlHost(text: string, m: IpMatch): boolean {
  const before = text.slice(Math.max(0, m.index - 4), m.index);
  return URL_HOST_BEFORE.test(before);
}

/**
 * Plain IPv4/IPv6 in text, glued forms included ("198.51.100.23@pauletteOpen Relay", "[198.51.100.23]").
 * Skips URL hosts ("http://203.0.113.5/login") and DNSBL-style names (those go to decodeReversedIps).
 */
export function decodePlainIps(text: string, field: string, v4: readonly IpMatch[] = findIpv4(text)): Finding[] {
  const out: Finding[] = [];
  for (const m of findIps(text, v4)) {
    if (urlHost(text, m)) continue;
    if (!m.ip.includes(":") && DNS_SUFFIX.test(text.slice(m.end, m.end + 80))) continue;
    out.push({ decoder: "plain-ip", field, found: m.text, ip: m.ip, strong: false });
  }
  return out;
}

/**
 * DNSBL-style reversed octets ("23.100.51.198" for 198.51.100.23): reported when followed by ".in-addr.arpa" or a
 * DNS zone, or when the reversal is one of sensorIps and the plain reading is not. Always flagged `reversed`.
 * `v4` = findIpv4(text) when the caller has it already (decodePlainIps takes the same).
 */
export function decodeReversedIps(text: string, field: string, sensorIps: ReadonlySet<string> = new Set(), v4: readonly IpMatch[] = findIpv4(text)): Finding[] {
  const out: Finding[] = [];
  for (const m of v4) {
    if (urlHost(text, m)) continue;
    const rev = reverseIpv4(m.ip);
    if (!rev || rev === m.ip) continue;
    const dnsStyle = DNS_SUFFIX.test(text.slice(m.end, m.end + 80));
    const sensor = sensorIps.has(rev) && !sensorIps.has(m.ip);
    if (dnsStyle || sensor) out.push({ decoder: "reversed-ip", field, found: m.text, ip: rev, strong: sensor, reversed: true });
  }
  return out;
}

/**
 * Decide whether an IP decoded from bytes is credible: followed by ":port" (or ":" + more), or alone in its printable
 * segment. Random blobs that merely contain digits and dots get strong=false.
 */
function decodedStrength(decoded: string, m: IpMatch): boolean {
  const after = decoded.charAt(m.end);
  if (after === ":") return true;
  let a = m.index;
  let b = m.end;
  while (a > 0 && m.index - a < 64 && isPrintable(decoded.charCodeAt(a - 1))) a--;
  while (b < decoded.length && b - m.end < 64 && isPrintable(decoded.charCodeAt(b))) b++;
  const seg = decoded.slice(a, b).replace(/^[\s[(<"']+|[\s\])>"',;]+$/g, "");
  return seg === m.text;
}

function isPrintable(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

function fromDecoded(decoder: string, field: string, decoded: string, sourceText: string): Finding[] {
  const out: Finding[] = [];
  for (const m of findIpv4Loose(decoded)) {
    const strong = decodedStrength(decoded, m);
    let a = m.index;
    while (a > 0 && m.index - a < 8 && isPrintable(decoded.charCodeAt(a - 1))) a--;
    let b = m.end;
    while (b < decoded.length && b - m.end < 60 && isPrintable(decoded.charCodeAt(b))) b++;
    const f: Finding = { decoder, field, found: `${excerpt(sourceText.slice(0, 40))} -> ${excerpt(decoded.slice(a, b))}`, ip: m.ip, strong };
    if (m.alternatives) {
      f.alternatives = m.alternatives;
      if (m.glued) f.found += ` (first octet ambiguous, also ${m.alternatives.join(", ")})`;
    }
    out.push(f);
  }
  return out;
}

/** Remove line breaks (and the blanks around them) so a blob wrapped at any column is one run again. */
export function unwrap(text: string): string {
  let nl = text.indexOf("\n");
  if (nl < 0) return text;
  // Each line trimmed and appended: split("\n").map(trim).join("") without its two arrays. Not
  // /[ \t]*\n[ \t]*/: that regex backtracks quadratically on long runs of blanks.
  let out = "";
  let start = 0;
  for (;;) {
    out += text.slice(start, nl < 0 ? text.length : nl).trim();
    if (nl < 0) return out;
    start = nl + 1;
    nl = text.indexOf("\n", start);
  }
}

function charTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}
const DIGITS = "0123456789";
const HEX_CHARS = charTable(`${DIGITS}abcdefABCDEF`);
const DIGIT_CHARS = charTable(DIGITS);
const BASE64_CHARS = charTable(`${DIGITS}abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/_-`);

/**
 * Maximal runs of characters from `table`, at least `min` long (plus up to 2 trailing "=" when `padding`), that
 * contain a match of the global regex `anchor`. The anchor is found by the regex engine (fast), the run around it by
 * a loop; runs are visited left to right once, so the whole scan stays linear.
 */
export function runsAround(text: string, anchor: RegExp, table: Uint8Array, min: number, padding = false): string[] {
  const out: string[] = [];
  const inTable = (i: number): boolean => {
    const c = text.charCodeAt(i);
    return c < 128 && table[c] === 1;
  };
  let done = 0;
  anchor.lastIndex = 0;
  for (let m = anchor.exec(text); m !== null; m = anchor.exec(text)) {
    if (m[0] === "") anchor.lastIndex++;
    if (m.index < done) continue;
    let a = m.index;
    while (a > done && inTable(a - 1)) a--;
    let b = m.index;
    while (b < text.length && inTable(b)) b++;
    done = Math.max(b, m.index + 1);
    if (anchor.lastIndex < done) anchor.lastIndex = done;
    if (b - a < min) continue;
    let end = b;
    if (padding) while (end < text.length && end - b < 2 && text.charCodeAt(end) === 61) end++;
    out.push(text.slice(a, end));
  }
  return out;
}

// Alignment-independent anchors: the encoded form of "<digit>.<digit>" must occur somewhere in the run.
const DECIMAL_DIGIT_DOT = /0(?:4[89]|5[0-7])0460(?:4[89]|5[0-7])/g;
/** "." as a decimal triplet plus the next triplet's leading 0: a literal every DECIMAL_DIGIT_DOT match contains. */
const DECIMAL_DOT = "0460";
const HEX_DIGIT_DOT = /3\d2e3\d/gi;
// Any 5 bytes of "a.b.c.d" text hold one whole 3-byte group: its 4 base64 characters look like this.
const BASE64_DIGITS_GROUP = /(?=[LMNO][CDSTijz0][AEIMQUYcgkosw048][u-z0-5])/g;
const BASE64_ANCHOR = /[LMNO][CDSTijz0][AEIMQUYcgkosw048][u-z0-5]/g;

/**
 * False when text has no "L", "M", "N" or "O", the first character of every BASE64_ANCHOR match: then decodeBase64
 * finds nothing, wrapped or not. Four substring searches cost a fraction of the anchor scan (prose is mostly lower case).
 */
export function mayHoldBase64Anchor(text: string): boolean {
  return text.includes("L") || text.includes("M") || text.includes("N") || text.includes("O");
}

const ALL_DIGITS = /^[0-9]+$/;

/**
 * Decimal ASCII in 3-digit triplets: "054053046055..." = "65.7...", wrapped across lines at any point.
 * Every run of >= 21 digits is decoded at the 3 alignments; triplets outside printable ASCII split segments.
 */
export function decodeDecimalAscii(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  const joined = unwrap(text);
  if (!joined.includes(DECIMAL_DOT)) return out; // every anchor match holds it; a substring search is far cheaper
  for (const run of runsAround(joined, DECIMAL_DIGIT_DOT, DIGIT_CHARS, 21)) {
    for (let k = 0; k < 3; k++) {
      let decoded = "";
      for (let i = k; i + 3 <= run.length; i += 3) {
        const v = Number(run.slice(i, i + 3));
        decoded += v >= 0x20 && v <= 0x7e ? String.fromCharCode(v) : "\x00";
      }
      out.push(...fromDecoded("decimal-ascii", field, decoded, run));
    }
  }
  return out;
}

/** Hex-encoded ASCII of an IP string: "3139382e35312e3130302e3233" = "198.51.100.23", tried at both nibble alignments. */
export function decodeHexAscii(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  const joined = unwrap(text);
  // "2e3" (hex of "." and the next digit's high nibble) is in every anchor match; hex text seldom has it
  if (!joined.includes("2e3") && !joined.includes("2E3")) return out;
  for (const run of runsAround(joined, HEX_DIGIT_DOT, HEX_CHARS, 14)) {
    for (let k = 0; k < 2; k++) {
      const decoded = Buffer.from(run.slice(k, run.length - ((run.length - k) % 2)), "hex").toString("latin1");
      out.push(...fromDecoded("hex-ascii", field, decoded, run));
    }
  }
  return out;
}

// Both start with a digit after a lookbehind (not a consumed "(?:^|[^...])" group), so the regex engine can skip
// ahead to candidate digits instead of trying the group at every position.
const HEX_PORT = /(?<![0-9A-Za-z])1([0-9A-Fa-f]{8}):(\d{1,5})(?!\d)/g;
const DOTLESS_INT = /(?<![0-9A-Za-z.])\d{8,10}(?![0-9A-Za-z]|\.\d)/g;

/** True when some ":" has a hex digit before it and a decimal digit after it, as in every 1<hex>:port. */
function hasHexColonDigit(text: string): boolean {
  for (let i = text.indexOf(":", 1); i >= 0; i = text.indexOf(":", i + 1)) {
    const after = text.charCodeAt(i + 1); // NaN past the end
    const before = text.charCodeAt(i - 1);
    if (after >= 48 && after <= 57 && before < 128 && HEX_CHARS[before] === 1) return true;
  }
  return false;
}

/** "1<8 hex digits>:<port>": the 8 hex digits are the 4 IPv4 octets ("1C6336417:25" = 198.51.100.23 port 25). */
export function decodeHexPort(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  // Bodies have colons ("https://", "Subject:") but seldom one between a hex and a decimal digit: skip the regex scan.
  if (!hasHexColonDigit(text)) return out;
  // exec on the shared regex: matchAll would clone it (a new RegExp per call)
  HEX_PORT.lastIndex = 0;
  for (let m = HEX_PORT.exec(text); m !== null; m = HEX_PORT.exec(text)) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) continue;
    const ip = ipv4FromInt(parseInt(m[1] ?? "", 16));
    if (ip) out.push({ decoder: "hex-port", field, found: `${m[0]} -> ${ip}:${port}`, ip, strong: true });
  }
  return out;
}

/** Dotless 32-bit decimal integers ("3325256727" = 198.51.100.23); only 1.0.0.0 and up. Weak: counted in test context. */
export function decodeDotlessInt(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  DOTLESS_INT.lastIndex = 0;
  for (let m = DOTLESS_INT.exec(text); m !== null; m = DOTLESS_INT.exec(text)) {
    const digits = m[0];
    const n = Number(digits);
    if (n < 0x01000000 || n > 0xffffffff) continue;
    const ip = ipv4FromInt(n);
    if (ip) out.push({ decoder: "dotless-int", field, found: `${digits} -> ${ip}`, ip, strong: false });
  }
  return out;
}

/** Longest base64 run decoded per message field; the scanned text is already bounded upstream. */
export const MAX_BASE64_RUN = 64 * 1024;

/**
 * Base64 of "ip:port" (or "ip") anywhere inside a base64 blob: each run is decoded from character offsets 0-3 with
 * Buffer.from(..., "base64"), so text glued before the encoded part at any length still lines up once.
 * Only printable dotted text counts; raw bytes that happen to look like 4 octets never do.
 */
export function decodeBase64(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  if (!mayHoldBase64Anchor(text)) return out;
  for (const whole of runsAround(unwrap(text), BASE64_ANCHOR, BASE64_CHARS, 10, true)) {
    const run = whole.length > MAX_BASE64_RUN ? whole.slice(0, MAX_BASE64_RUN) : whole;
    if (ALL_DIGITS.test(run)) continue; // a digit string is handled by the decimal decoders
    // Offsets (mod 4) of the digit groups, in the order first seen (bit k of `seen`: offset k listed); once all four
    // are listed the rest of the run adds none.
    const offsets: number[] = [];
    let seen = 0;
    BASE64_DIGITS_GROUP.lastIndex = 0;
    for (let g = BASE64_DIGITS_GROUP.exec(run); g !== null && offsets.length < 4; g = BASE64_DIGITS_GROUP.exec(run)) {
      BASE64_DIGITS_GROUP.lastIndex++; // a lookahead: zero-length, step past it as matchAll would
      const k = g.index % 4;
      if ((seen & (1 << k)) === 0) {
        seen |= 1 << k;
        offsets.push(k);
      }
    }
    for (const k of offsets) {
      const decoded = Buffer.from(run.slice(k), "base64").toString("latin1");
      out.push(...fromDecoded("base64", field, decoded, run.slice(k)));
    }
  }
  return out;
}

/** Normalise and dedupe a list of IPs (sensor configuration). */
export function ipSet(ips: readonly string[]): Set<string> {
  const s = new Set<string>();
  for (const ip of ips) {
    const n = normaliseIp(ip);
    if (n) s.add(n);
  }
  return s;
}

const HEX_INT = /(?<![0-9A-Za-z])0[xX]([0-9A-Fa-f]{8})(?![0-9A-Za-z])/g;
const HEX_DOTTED = /(?<![0-9A-Za-z.])0[xX]([0-9A-Fa-f]{1,2})\.0[xX]([0-9A-Fa-f]{1,2})\.0[xX]([0-9A-Fa-f]{1,2})\.0[xX]([0-9A-Fa-f]{1,2})(?![0-9A-Za-z])/g;

/** "0xC6336417" (a 32-bit hex integer) and "0xC6.0x33.0x64.0x17" (hex octets): both 198.51.100.23. Weak: counted by position. */
export function decodeHexInt(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  if (!text.includes("0x") && !text.includes("0X")) return out;
  HEX_INT.lastIndex = 0;
  for (let m = HEX_INT.exec(text); m !== null; m = HEX_INT.exec(text)) {
    const n = parseInt(m[1] ?? "", 16);
    if (n < 0x01000000) continue;
    const ip = ipv4FromInt(n);
    if (ip) out.push({ decoder: "hex-int", field, found: `${m[0]} -> ${ip}`, ip, strong: false });
  }
  HEX_DOTTED.lastIndex = 0;
  for (let m = HEX_DOTTED.exec(text); m !== null; m = HEX_DOTTED.exec(text)) {
    const ip = [m[1], m[2], m[3], m[4]].map((h) => parseInt(h ?? "", 16)).join(".");
    out.push({ decoder: "hex-int", field, found: `${m[0]} -> ${ip}`, ip, strong: false });
  }
  return out;
}

const DASHED_IP = /(?<![0-9])(\d{1,3})([-_])(\d{1,3})\2(\d{1,3})\2(\d{1,3})(?![0-9])/g;

/** An IP dashed into a local part or subject ("relay-203-0-113-10-25@..." = 203.0.113.10, port 25). Weak: by position. */
export function decodeDashedIp(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  if (!text.includes("-") && !text.includes("_")) return out;
  DASHED_IP.lastIndex = 0;
  for (let m = DASHED_IP.exec(text); m !== null; m = DASHED_IP.exec(text)) {
    const ip = normaliseIp(`${m[1]}.${m[3]}.${m[4]}.${m[5]}`);
    if (ip) out.push({ decoder: "dashed-ip", field, found: `${m[0]} -> ${ip}`, ip, strong: false });
    else DASHED_IP.lastIndex = m.index + 1;
  }
  return out;
}

/** Query parameters a tester names the tested address by. */
const URL_IP_PARAM = /[?&;](?:ip|ipaddr|addr|host|h|relay|server|srv|target|tested|rip)=([0-9A-Fa-fxX.:%]{7,45})(?=[&;#"'<>\s]|$)/gi;

/** The tested IP as a URL query value ("...?ip=3325256727", "&host=198.51.100.23", "?ip=0xC6336417"). Strong: a named slot. */
export function decodeUrlParam(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  if (!text.includes("=")) return out;
  URL_IP_PARAM.lastIndex = 0;
  for (let m = URL_IP_PARAM.exec(text); m !== null; m = URL_IP_PARAM.exec(text)) {
    let v = m[1] ?? "";
    try {
      v = decodeURIComponent(v); // "%3A" in an IPv6 value
    } catch {
      continue;
    }
    let ip: string | null = null;
    if (/^\d{8,10}$/.test(v)) ip = Number(v) >= 0x01000000 ? ipv4FromInt(Number(v)) : null;
    else if (/^0x[0-9a-f]{8}$/i.test(v)) ip = ipv4FromInt(parseInt(v.slice(2), 16));
    else ip = normaliseIp(v);
    if (ip) out.push({ decoder: "url-param", field, found: excerpt(m[0]) + ` -> ${ip}`, ip, strong: true });
  }
  return out;
}
