// Redaction for the public read-only view: the local parts and display names of addresses (dropboxes, trap
// recipients) become "***", the domain stays. Address fields are parsed (nodemailer's addressparser: quoted local
// parts, display names, groups, comments, address literals, IDN); free text is cut at every "@" it holds; and what a
// message's own addresses hide is scrubbed from its other fields too.
import addressparser from "nodemailer/lib/addressparser";
import libmime from "libmime";

export const HIDDEN = "***";

/** Keys whose string values are addresses or address lists (envelope, header fields kept apart, dropboxes). */
const ADDRESS_KEYS = new Set(["mailFrom", "mail_from", "rcptTo", "fromHeader", "toHeader", "dropboxes", "address", "recipient"]);
/** Header fields that hold addresses (RFC 5322 3.6.2-3.6.6, and the trace fields that name a recipient). */
const ADDRESS_HEADERS = new Set([
  "from", "sender", "reply-to", "to", "cc", "bcc", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc",
  "return-path", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-rcpt-to", "x-forwarded-to", "disposition-notification-to",
]);
/** Identifiers and classifications left as they are (an over-eager scrub must not bend a hash or an IP). */
const VERBATIM_KEYS = new Set(["id", "sha256", "sessionId", "queueId", "srcIp", "destIp", "ip", "kind", "channel", "testedIps", "decoder", "field", "source", "status"]);
/** A hidden string shorter than this is not scrubbed from free text (it would blank out ordinary words). */
const MIN_SCRUB_CHARS = 3;

const AT_SIGNS = new Set(["@", "\uFF20", "\uFE6B"]);
/** Where a local part read backwards from an "@" ends (outside quotes and comments). */
const BOUNDARY = /[\s<>,;:[\]]/u;

function decodeWords(s: string): string {
  if (!s.includes("=?")) return s;
  try {
    return libmime.decodeWords(s);
  } catch {
    return s;
  }
}

/** A quoted local part ("...", backslash escapes, may hold "@" and spaces) and the "@" after it. */
const QUOTED_LOCAL = /"(?:[^"\\]|\\.)*"\s*[@\uFF20\uFE6B]/gu;

/** Start of the local part that ends just before `at` in `s` (not before `floor`): a dot-atom of any characters but
 * whitespace and delimiters, with comments; a quote ends it (quoted local parts are cut beforehand). */
function localStart(s: string, at: number, floor: number): number {
  let k = at;
  while (k > floor) {
    const c = s[k - 1]!;
    if (c === ")") {
      let depth = 0;
      let j = k - 1;
      for (; j >= floor; j--) {
        if (s[j] === ")") depth++;
        else if (s[j] === "(" && --depth === 0) break;
      }
      k = Math.max(j, floor);
      continue;
    }
    if (c === '"') {
      k--;
      break;
    }
    if (BOUNDARY.test(c)) break;
    k--;
  }
  return k;
}

/** Free text: whatever stands before each "@" as a local part (in any of its forms) becomes "***". */
export function redactText(text: string): string {
  const s = decodeWords(text).replace(QUOTED_LOCAL, (m) => HIDDEN + m[m.length - 1]);
  let out = "";
  let done = 0;
  for (let i = 0; i < s.length; i++) {
    if (!AT_SIGNS.has(s[i]!)) continue;
    const start = localStart(s, i, done);
    out += s.slice(done, start) + (start < i ? HIDDEN : "") + s[i];
    done = i + 1;
  }
  return out + s.slice(done);
}

function mailboxes(value: string): Array<{ name: string; address: string }> {
  try {
    return addressparser(decodeWords(value), { flatten: true }).map((a) => ({ name: a.name ?? "", address: a.address ?? "" }));
  } catch {
    return [];
  }
}

/** "***@domain" (the domain after the last "@"), "***" without one. */
function maskAddress(address: string): string {
  const at = address.lastIndexOf("@");
  return at < 0 ? HIDDEN : HIDDEN + "@" + address.slice(at + 1);
}

/** An address field (envelope address, header value, dropbox), parsed: every mailbox, groups flattened, as
 * "***@domain"; display names and group names dropped. */
export function redactAddressField(value: string): string {
  if (value === "") return value;
  const list = mailboxes(value);
  const masked = list.filter((m) => m.address !== "").map((m) => maskAddress(m.address));
  if (masked.length > 0) return masked.join(", ");
  // Nothing the parser calls an address ("<>", a bare word): cut it as text, and hide any name it holds.
  return value.includes("@") ? redactText(value) : value.trim() === "" || value.trim() === "<>" ? value : HIDDEN;
}

/** The strings an address field hides: local parts (as written and unquoted) and display names. */
function hiddenParts(value: string, into: Set<string>): void {
  const add = (x: string) => {
    const t = x.trim();
    if (t.length >= MIN_SCRUB_CHARS) into.add(t.toLowerCase());
  };
  for (const m of mailboxes(value)) {
    add(m.name);
    const at = m.address.lastIndexOf("@");
    if (at > 0) {
      const local = m.address.slice(0, at);
      add(local);
      if (local.startsWith('"') && local.endsWith('"')) add(local.slice(1, -1).replace(/\\(.)/g, "$1"));
    }
  }
}

function isAddressHeader(v: unknown): v is { key: string; value: string } {
  if (v === null || typeof v !== "object") return false;
  const h = v as { key?: unknown; value?: unknown };
  return typeof h.key === "string" && typeof h.value === "string" && ADDRESS_HEADERS.has(h.key.toLowerCase());
}

function collect(v: unknown, key: string, into: Set<string>): void {
  if (typeof v === "string") {
    if (ADDRESS_KEYS.has(key)) hiddenParts(v, into);
  } else if (Array.isArray(v)) {
    for (const x of v) collect(x, key, into);
  } else if (v !== null && typeof v === "object") {
    if (isAddressHeader(v)) hiddenParts(v.value, into);
    for (const [k, x] of Object.entries(v)) collect(x, k, into);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function transform(v: unknown, key: string, scrub: (s: string) => string): unknown {
  if (typeof v === "string") {
    if (VERBATIM_KEYS.has(key)) return v;
    if (ADDRESS_KEYS.has(key)) return redactAddressField(v);
    return scrub(redactText(v));
  }
  if (Array.isArray(v)) return v.map((x) => transform(x, key, scrub));
  if (v !== null && typeof v === "object") {
    if (isAddressHeader(v)) return { ...v, value: redactAddressField(v.value) };
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = transform(x, VERBATIM_KEYS.has(key) ? key : k, scrub);
    return out;
  }
  return v;
}

/**
 * The public view of a value (a message, a list, the summary): address fields parsed and masked, every other string
 * cut at its "@"s and scrubbed of the local parts and display names the value's own addresses hide. Keys are kept.
 */
export function redactDeep<T>(v: T): T {
  const hidden = new Set<string>();
  collect(v, "", hidden);
  const words = [...hidden].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const re = words.length > 0 ? new RegExp(words.join("|"), "giu") : null;
  const scrub = re ? (s: string) => s.replace(re, HIDDEN) : (s: string) => s;
  return transform(v, "", scrub) as T;
}
