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
}

/** Longest excerpt kept in an evidence entry. */
export const MAX_FOUND_CHARS = 120;

export function excerpt(s: string): string {
  const flat = s.replace(/[\x00-\x1f\x7f]/g, ".");
  return flat.length > MAX_FOUND_CHARS ? `${flat.slice(0, MAX_FOUND_CHARS)}...` : flat;
}

// A dotted quad directly followed by ".in-addr.arpa" or by a host name is a DNSBL-style reversed query.
const DNS_SUFFIX = /^\.(?:in-addr\.arpa|[a-z][a-z0-9-]{0,62}\.[a-z][a-z0-9.-]{0,200})/i;

function urlHost(text: string, m: IpMatch): boolean {
  const before = text.slice(Math.max(0, m.index - 4), m.index);
  return /:\/\/\[?$/.test(before);
}

/**
 * Plain IPv4/IPv6 in text, glued forms included ("198.51.100.23@pauletteOpen Relay", "[198.51.100.23]").
 * Skips URL hosts ("http://203.0.113.5/login") and DNSBL-style names (those go to decodeReversedIps).
 */
export function decodePlainIps(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  for (const m of findIps(text)) {
    if (urlHost(text, m)) continue;
    if (!m.ip.includes(":") && DNS_SUFFIX.test(text.slice(m.end, m.end + 80))) continue;
    out.push({ decoder: "plain-ip", field, found: m.text, ip: m.ip, strong: false });
  }
  return out;
}

/**
 * DNSBL-style reversed octets ("23.100.51.198" for 198.51.100.23): reported when followed by ".in-addr.arpa" or a
 * DNS zone, or when the reversal is one of sensorIps and the plain reading is not. Always flagged `reversed`.
 */
export function decodeReversedIps(text: string, field: string, sensorIps: ReadonlySet<string> = new Set()): Finding[] {
  const out: Finding[] = [];
  for (const m of findIpv4(text)) {
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
    out.push({ decoder, field, found: `${excerpt(sourceText.slice(0, 40))} -> ${excerpt(decoded.slice(a, b))}`, ip: m.ip, strong });
  }
  return out;
}

/** Remove line breaks (and the blanks around them) so a blob wrapped at any column is one run again. */
export function unwrap(text: string): string {
  return text.replace(/[ \t]*\r?\n[ \t]*/g, "");
}

/**
 * Decimal ASCII in 3-digit triplets: "054053046055..." = "65.7...", wrapped across lines at any point.
 * Every run of >= 21 digits is decoded at the 3 alignments; triplets outside printable ASCII split segments.
 */
export function decodeDecimalAscii(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  for (const m of unwrap(text).matchAll(/\d{21,}/g)) {
    const run = m[0];
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
  for (const m of unwrap(text).matchAll(/[0-9A-Fa-f]{14,}/g)) {
    const run = m[0];
    if (!/2e/i.test(run) && !/e2/i.test(run)) continue; // no "." byte at any alignment
    for (let k = 0; k < 2; k++) {
      const decoded = Buffer.from(run.slice(k, run.length - ((run.length - k) % 2)), "hex").toString("latin1");
      out.push(...fromDecoded("hex-ascii", field, decoded, run));
    }
  }
  return out;
}

/** "1<8 hex digits>:<port>": the 8 hex digits are the 4 IPv4 octets ("1C6336417:25" = 198.51.100.23 port 25). */
export function decodeHexPort(text: string, field: string): Finding[] {
  const out: Finding[] = [];
  for (const m of text.matchAll(/(?<![0-9A-Za-z])1([0-9A-Fa-f]{8}):(\d{1,5})(?!\d)/g)) {
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
  for (const m of text.matchAll(/(?<![0-9A-Za-z.])\d{8,10}(?![0-9A-Za-z]|\.\d)/g)) {
    const n = Number(m[0]);
    if (n < 0x01000000 || n > 0xffffffff) continue;
    const ip = ipv4FromInt(n);
    if (ip) out.push({ decoder: "dotless-int", field, found: `${m[0]} -> ${ip}`, ip, strong: false });
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
  for (const m of unwrap(text).matchAll(/[A-Za-z0-9+/_-]{10,}={0,2}/g)) {
    const run = m[0].length > MAX_BASE64_RUN ? m[0].slice(0, MAX_BASE64_RUN) : m[0];
    if (/^[0-9]+$/.test(run)) continue; // a digit string is handled by the decimal decoders
    for (let k = 0; k < 4; k++) {
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
