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

const DNS_NAME_AFTER = /\.(?:[a-z0-9-]{1,63}\.){0,8}[a-z]{2,24}(?![\w-])/iy;
const HEX_TOKEN = /(?<![0-9A-Za-z])0[xX][0-9A-Fa-f]{1,8}(?![0-9A-Za-z])/g;

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
    if (!m) continue;
    // a DNS name after the IP ("23.100.51.198.in-addr.arpa", "...relays.example.net") is part of the IP's query name
    let end = m.end;
    if (rest.charCodeAt(end) === 46) {
      DNS_NAME_AFTER.lastIndex = end;
      const after = DNS_NAME_AFTER.exec(rest);
      if (after) end += after[0].length;
    }
    rest = rest.slice(0, m.index) + " " + rest.slice(end);
  }
  // hex-integer IP forms ("0xC6336417", "0xc6.0x33.0x64.0x17") are not words
  if (rest.includes("0x") || rest.includes("0X")) rest = rest.replace(HEX_TOKEN, " ");
  // one pass per word list: collect each match while blanking it out. Most texts have none: a test() is
  // cheaper than a replace() with a callback that finds nothing.
  const strong: string[] = [];
  STRONG_RELAY_WORDS.lastIndex = 0; // global regexes: test() starts at lastIndex
  if (STRONG_RELAY_WORDS.test(rest)) {
    rest = rest.replace(STRONG_RELAY_WORDS, (w) => {
      strong.push(w.toLowerCase());
      return " ";
    });
  }
  const weak: string[] = [];
  WEAK_RELAY_WORDS.lastIndex = 0;
  if (WEAK_RELAY_WORDS.test(rest)) {
    rest = rest.replace(WEAK_RELAY_WORDS, (w) => {
      weak.push(w.toLowerCase());
      return " ";
    });
  }
  return { strong, weak, residue: countLetters(rest) };
}

export interface RelayWords {
  readonly strong: readonly string[];
  readonly weak: readonly string[];
}

const NO_RELAY_WORDS: RelayWords = { strong: [], weak: [] };

/**
 * The relay words of a text, as shapeOf lists them, for texts whose residue is not needed (local parts, headers).
 * Blanking an IP out of a text only splits words, never makes one: a text in which neither word list matches has no
 * relay words, and needs no IP search.
 */
export function relayWords(text: string): RelayWords {
  STRONG_RELAY_WORDS.lastIndex = 0;
  WEAK_RELAY_WORDS.lastIndex = 0;
  if (!STRONG_RELAY_WORDS.test(text) && !WEAK_RELAY_WORDS.test(text)) return NO_RELAY_WORDS;
  return shapeOf(text);
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

// Regexes used per message or per line live here, not as literals in the functions: a literal is a new RegExp
// object each time it is evaluated.
const RECEIVED = /received/i;
const RECEIVED_LINE = /^[\s>]*(x-)?received(-spf)?:/i;
const CONTINUATION_LINE = /^[>]*[ \t]/;

/** True when some ":" follows a "d" or "f" (any case), as in every "received:" and "received-spf:". */
function hasReceivedColon(text: string): boolean {
  for (let i = text.indexOf(":", 1); i >= 0; i = text.indexOf(":", i + 1)) {
    const c = text.charCodeAt(i - 1) | 0x20; // ASCII lower case
    if (c === 0x64 || c === 0x66) return true;
  }
  return false;
}

/** Drop quoted Received:/X-Received:/Received-SPF: header blocks (bounces quote them) from a text. */
export function stripReceivedLines(text: string): string {
  // The colon check first: it skips the case-insensitive scan of most texts (URLs end in "s:" or "p:").
  if (!hasReceivedColon(text) || !RECEIVED.test(text)) return text;
  const out: string[] = [];
  let skipping = false;
  for (const line of text.split("\n")) {
    if (RECEIVED_LINE.test(line)) {
      skipping = true;
      continue;
    }
    if (skipping && CONTINUATION_LINE.test(line) && line.trim() !== "" && line.trim() !== ">") continue;
    skipping = false;
    out.push(line);
  }
  return out.join("\n");
}

const HTML_TAG = /<[^<>]*>/g;

/** Body text to scan: text part, else tag-stripped HTML; bounded; Received blocks removed. */
export function bodyText(msg: ParsedMessage): string {
  let t = msg.text;
  if (t === null || t.trim() === "") {
    t = msg.html === null ? "" : msg.html.slice(0, MAX_BODY_CHARS).replace(HTML_TAG, " ");
  }
  return stripReceivedLines(t.slice(0, MAX_BODY_CHARS));
}

/** Header fields never scanned: trace fields (Received, X-Received, Received-SPF) and signatures (ARC, DKIM). */
const UNSCANNED_HEADER = /^(?:(?:x-)?received(?:-spf)?$|arc-|dkim-|x-google-dkim)/i;

/** Header fields analysis may look at: first MAX_HEADER_FIELDS, Received-type fields never. */
export function scannableHeaders(msg: ParsedMessage): HeaderField[] {
  const out: HeaderField[] = [];
  const n = Math.min(msg.headers.length, MAX_HEADER_FIELDS);
  for (let i = 0; i < n; i++) {
    const h = msg.headers[i] as HeaderField; // i < length
    if (UNSCANNED_HEADER.test(h.key)) continue;
    const key = h.key.toLowerCase();
    // parseMessage's keys are lower-case already: most fields are kept as they are, not copied
    if (key === h.key && h.value.length <= MAX_HEADER_VALUE_CHARS) out.push(h);
    else out.push({ key, value: h.value.slice(0, MAX_HEADER_VALUE_CHARS) });
  }
  return out;
}

const X_HEADER = /^x-/;
const TEST_HEADER_WORDS = /relay|test|proxy|check|probe|listme|dsbl|target/;
const NOT_TEST_HEADER_WORDS = /spam|virus|dkim|spf|auth|exchange|scan|antivirus/;

/** X- headers an MTA, webmail or client fills with the sender's own address: never a test position. */
const TRACE_HEADER_WORDS = /originat|sender|client|forward|real-?ip|remote|source|src|peer|auth|mailer|ms-|exchange|barracuda|ironport|virus|relays-|report|status|level|score|flag/;
/** An X- header value at most this long may be test-shaped (just an IP, perhaps with relay words). */
const MAX_TEST_HEADER_VALUE = 120;

/** An X- header whose value is only IPs and relay words ("X-SpamInfo: relay 198.51.100.23"), unless a trace header. */
export function isTestShapedHeader(key: string, value: string): boolean {
  if (value.length > MAX_TEST_HEADER_VALUE || !hasDigitQuick(value) || TRACE_HEADER_WORDS.test(key)) return false;
  if (findIps(value).length === 0) return false; // most short X- values with a digit hold no IP: no shape needed
  const shape = shapeOf(value);
  return shape.residue <= 2 + (shape.strong.length > 0 ? 4 : 0);
}

function hasDigitQuick(t: string): boolean {
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) return true;
  }
  return false;
}

/** X- headers named like a relay test would name them (X-Relay-Test, X-Tested-IP, X-Proxy-Check...). */
export function isTestHeaderName(key: string): boolean {
  return X_HEADER.test(key) && TEST_HEADER_WORDS.test(key) && !NOT_TEST_HEADER_WORDS.test(key);
}

/** Characters of an address part: not blank, not @ and not list/display-name punctuation. */
const ADDRESS_CHAR = /[^\s<>"(),;:@]/;
const ADDRESS = /[^\s<>"(),;:@]{1,64}@[^\s<>"(),;:@]{1,255}/g;
/** Address-list text searched for addresses. */
const MAX_ADDRESS_LIST_CHARS = 8192;
/** ADDRESS_CHAR for the ASCII range, as a table (1 = address character). */
const ASCII_ADDRESS_CHARS = Uint8Array.from({ length: 128 }, (_, c) => (ADDRESS_CHAR.test(String.fromCharCode(c)) ? 1 : 0));

function isAddressChar(c: number): boolean {
  return c < 128 ? ASCII_ADDRESS_CHARS[c] === 1 : ADDRESS_CHAR.test(String.fromCharCode(c));
}

/** Local parts of the addresses in an address list text ("a" <x@y>, z@w). */
export function localParts(text: string | null): string[] {
  if (!text) return [];
  const out: string[] = [];
  // What /[^\s<>"(),;:@]{1,64}@/g finds in the first MAX_ADDRESS_LIST_CHARS, found from each "@" instead of trying
  // the regex at every position: the local part is the run of address characters before the "@", its last 64.
  const end = Math.min(text.length, MAX_ADDRESS_LIST_CHARS);
  for (let at = text.indexOf("@"); at >= 0 && at < end; at = text.indexOf("@", at + 1)) {
    let a = at;
    while (a > 0 && at - a < 64 && isAddressChar(text.charCodeAt(a - 1))) a--;
    if (a === at) continue;
    out.push(text.slice(a, at));
    if (out.length >= MAX_LOCAL_PARTS) break;
  }
  return out;
}

/** Addresses (lower-cased) in an address list text, for dropbox fallback when there is no envelope. */
export function addresses(text: string | null): string[] {
  if (!text) return [];
  const out: string[] = [];
  const t = text.slice(0, MAX_ADDRESS_LIST_CHARS);
  ADDRESS.lastIndex = 0;
  for (let m = ADDRESS.exec(t); m !== null; m = ADDRESS.exec(t)) {
    const a = m[0].toLowerCase();
    if (!out.includes(a)) out.push(a);
    if (out.length >= MAX_LOCAL_PARTS) break;
  }
  return out;
}

/** The <> around a Message-ID or an envelope address. */
export const ANGLE_BRACKETS = /^\s*<|>\s*$/g;

/** The fields analysis scans, each with its position. */
/** A reply or forward ("Re: is 198.51.100.23 an open relay?"): people discussing a test, not a test. */
const REPLY_PREFIX = /^\s*(?:re|fwd?|aw|wg|sv|vs|tr|rv|antw|odp|r)\s*(?:\[\d+\])?\s*:|^\s*(?:回复|答复|转发)\s*[:：]/i;

export function isReply(subject: string): boolean {
  return REPLY_PREFIX.test(subject);
}

/** body.trim().length without copying the body. */
function trimmedLength(s: string): number {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) <= 32) a++;
  while (b > a && s.charCodeAt(b - 1) <= 32) b--;
  return b - a;
}

/** Body text beyond which a message is a page, not a test: its subject is no test position. */
export const MAX_TEST_MESSAGE_BODY_CHARS = 16 * 1024;

/**
 * A message whose subject can be a test position: a relay test carries its payload in a short mail. A long page (an
 * HTML body past SHORT_BODY_CHARS, or any body past MAX_TEST_MESSAGE_BODY_CHARS) with "relay test <ip>" in its subject
 * is a phishing or spam page borrowing the words.
 */
export function subjectCanBeTest(msg: ParsedMessage, body: string): boolean {
  const n = body.length > MAX_TEST_MESSAGE_BODY_CHARS ? body.length : trimmedLength(body);
  if (n > MAX_TEST_MESSAGE_BODY_CHARS) return false;
  return !(msg.html !== null && n > SHORT_BODY_CHARS);
}

export function scanFields(msg: ParsedMessage, body: string, headers: readonly HeaderField[], envLocals: ReadonlyArray<[string, string]>): ScanField[] {
  const fields: ScanField[] = [];
  const subject = (msg.subject ?? "").slice(0, MAX_SUBJECT_CHARS);
  if (subject !== "") {
    const shape = shapeOf(subject);
    const test = isTestShaped(shape, SUBJECT_SLACK[0], SUBJECT_SLACK[1]) && subjectCanBeTest(msg, body) && !REPLY_PREFIX.test(subject);
    fields.push({ name: "subject", text: subject, position: test ? "subject-test" : "subject", shape });
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
      const v = h.value.replace(ANGLE_BRACKETS, "");
      const at = v.lastIndexOf("@");
      fields.push({ name: "message-id", text: at >= 0 ? v.slice(0, at) : v, position: "message-id" });
    } else if (h.key.startsWith("x-")) {
      const test = isTestHeaderName(h.key) || isTestShapedHeader(h.key, h.value);
      fields.push({ name: `header:${h.key}`, text: h.value, position: test ? "header-test" : "header" });
    }
  }
  return fields;
}
