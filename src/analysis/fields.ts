// Which parts of a message analysis scans (bounded), and how "test-shaped" each part is.
import type { HeaderField, ParsedMessage } from "./types.js";
import { findIps } from "./ip.js";

/** Body characters scanned (after HTML-to-text when there is no text part). */
export const MAX_BODY_CHARS = 64 * 1024;
/** Header fields scanned, in order; the rest are ignored. */
export const MAX_HEADER_FIELDS = 100;
export const MAX_HEADER_VALUE_CHARS = 4096;
export const MAX_SUBJECT_CHARS = 2000;
/** A body at most this long (trimmed) is "short": where a relay test puts its IP. */
export const SHORT_BODY_CHARS = 1024;
/** Letters besides IPs and relay words a test-shaped subject/body may have: [with a strong word, with a weak word]. */
export const SUBJECT_SLACK = [10, 5] as const;
export const BODY_SLACK = [24, 6] as const;
/** Local parts taken from From/To/envelope addresses. */
export const MAX_LOCAL_PARTS = 200;

/**
 * Where a text sits. Plain IPs only weigh in the *-test positions (and "local", "message-id"); encoded forms
 * weigh anywhere.
 */
export type Position =
  | "subject-test"
  | "subject"
  | "body-test"
  | "body-short"
  | "body"
  | "local"
  | "header-test"
  | "header"
  | "message-id";

export interface ScanField {
  /** Evidence field name: "subject", "body", "from-local", "header:x-foo", "message-id", ... */
  name: string;
  text: string;
  position: Position;
  /** shapeOf(text), when scanFields measured it to pick the position (subject, short body). */
  shape?: Shape;
}

export const STRONG_RELAY_WORDS = /open[\s_-]*relay|relay|proxy|listme|promiscuous/gi;
export const WEAK_RELAY_WORDS = /test|check|probe|scan/gi;

export interface Shape {
  strong: string[];
  weak: string[];
  /** Letters left after removing IPs and relay words. */
  residue: number;
}

/** Relay words in a text and how many other letters it has (relay words may be glued: "pauletteOpen Relay"). */
export function shapeOf(text: string): Shape {
  let rest = text;
  const ips = findIps(text);
  for (let i = ips.length - 1; i >= 0; i--) {
    const m = ips[i];
    if (m) rest = rest.slice(0, m.index) + " " + rest.slice(m.end);
  }
  // one pass per word list: collect each match while blanking it out
  const strong: string[] = [];
  rest = rest.replace(STRONG_RELAY_WORDS, (w) => {
    strong.push(w.toLowerCase());
    return " ";
  });
  const weak: string[] = [];
  rest = rest.replace(WEAK_RELAY_WORDS, (w) => {
    weak.push(w.toLowerCase());
    return " ";
  });
  return { strong, weak, residue: countLetters(rest) };
}

const LETTER = /^\p{L}$/u;

/** UTF-16 length of the letters (\p{L}) in text, i.e. text.replace(/[^\p{L}]/gu, "").length without the copy. */
function countLetters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) n++;
      continue;
    }
    const cp = text.codePointAt(i) ?? c;
    const units = cp > 0xffff ? 2 : 1;
    if (LETTER.test(String.fromCodePoint(cp))) n += units;
    i += units - 1;
  }
  return n;
}

/** Test-shaped: mostly IPs and relay words; `strongSlack`/`weakSlack` = other letters tolerated with a strong/weak word. */
export function isTestShaped(s: Shape, strongSlack: number, weakSlack: number): boolean {
  if (s.strong.length > 0) return s.residue <= strongSlack;
  if (s.weak.length > 0) return s.residue <= weakSlack;
  return s.residue <= 2;
}

/** Drop quoted Received:/X-Received:/Received-SPF: header blocks (bounces quote them) from a text. */
export function stripReceivedLines(text: string): string {
  if (!/received/i.test(text)) return text;
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split("\n")) {
    if (/^[\s>]*(x-)?received(-spf)?:/i.test(line)) {
      skipping = true;
      continue;
    }
    if (skipping && /^[>]*[ \t]/.test(line) && line.trim() !== "" && line.trim() !== ">") continue;
    skipping = false;
    out.push(line);
  }
  return out.join("\n");
}

/** Body text to scan: text part, else tag-stripped HTML; bounded; Received blocks removed. */
export function bodyText(msg: ParsedMessage): string {
  let t = msg.text;
  if (t === null || t.trim() === "") {
    t = msg.html === null ? "" : msg.html.slice(0, MAX_BODY_CHARS).replace(/<[^<>]*>/g, " ");
  }
  return stripReceivedLines(t.slice(0, MAX_BODY_CHARS));
}

/** Header fields analysis may look at: first MAX_HEADER_FIELDS, Received-type fields never. */
export function scannableHeaders(msg: ParsedMessage): HeaderField[] {
  return msg.headers
    .slice(0, MAX_HEADER_FIELDS)
    .filter((h) => !/^(x-)?received(-spf)?$/i.test(h.key) && !/^arc-|^dkim-|^x-google-dkim/i.test(h.key))
    .map((h) => ({ key: h.key.toLowerCase(), value: h.value.slice(0, MAX_HEADER_VALUE_CHARS) }));
}

/** X- headers named like a relay test would name them (X-Relay-Test, X-Tested-IP, X-Proxy-Check...). */
export function isTestHeaderName(key: string): boolean {
  return /^x-/.test(key) && /relay|test|proxy|check|probe|listme|dsbl|target/.test(key) && !/spam|virus|dkim|spf|auth|exchange|scan|antivirus/.test(key);
}

/** Local parts of the addresses in an address list text ("a" <x@y>, z@w). */
export function localParts(text: string | null): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const m of text.slice(0, 8192).matchAll(/[^\s<>"(),;:@]{1,64}@/g)) {
    out.push(m[0].slice(0, -1));
    if (out.length >= MAX_LOCAL_PARTS) break;
  }
  return out;
}

/** Addresses (lower-cased) in an address list text, for dropbox fallback when there is no envelope. */
export function addresses(text: string | null): string[] {
  if (!text) return [];
  const out: string[] = [];
  for (const m of text.slice(0, 8192).matchAll(/[^\s<>"(),;:@]{1,64}@[^\s<>"(),;:@]{1,255}/g)) {
    const a = m[0].toLowerCase();
    if (!out.includes(a)) out.push(a);
    if (out.length >= MAX_LOCAL_PARTS) break;
  }
  return out;
}

/** The fields analysis scans, each with its position. */
export function scanFields(msg: ParsedMessage, body: string, headers: readonly HeaderField[], envLocals: ReadonlyArray<[string, string]>): ScanField[] {
  const fields: ScanField[] = [];
  const subject = (msg.subject ?? "").slice(0, MAX_SUBJECT_CHARS);
  if (subject !== "") {
    const shape = shapeOf(subject);
    fields.push({ name: "subject", text: subject, position: isTestShaped(shape, SUBJECT_SLACK[0], SUBJECT_SLACK[1]) ? "subject-test" : "subject", shape });
  }
  const trimmed = body.trim();
  if (trimmed !== "") {
    if (trimmed.length <= SHORT_BODY_CHARS) {
      // Outer blanks change no IP, relay word or letter count: the trimmed body's shape is the body's shape.
      const shape = shapeOf(trimmed);
      fields.push({ name: "body", text: body, position: isTestShaped(shape, BODY_SLACK[0], BODY_SLACK[1]) ? "body-test" : "body-short", shape });
    } else fields.push({ name: "body", text: body, position: "body" });
  }
  for (const lp of localParts(msg.from)) fields.push({ name: "from-local", text: lp, position: "local" });
  for (const lp of localParts(msg.to)) fields.push({ name: "to-local", text: lp, position: "local" });
  for (const [name, lp] of envLocals) fields.push({ name, text: lp, position: "local" });
  for (const h of headers) {
    if (h.key === "message-id") {
      const v = h.value.replace(/^\s*<|>\s*$/g, "");
      const at = v.lastIndexOf("@");
      fields.push({ name: "message-id", text: at >= 0 ? v.slice(0, at) : v, position: "message-id" });
    } else if (h.key.startsWith("x-")) {
      fields.push({ name: `header:${h.key}`, text: h.value, position: isTestHeaderName(h.key) ? "header-test" : "header" });
    }
  }
  return fields;
}
