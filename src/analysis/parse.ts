// Parses raw message bytes with mailparser into the ParsedMessage that storage and analysis share.
import crypto from "node:crypto";
import libmime from "libmime";
import { simpleParser, type AddressObject, type SimpleParserOptions } from "mailparser";
import type { AttachmentMeta, HeaderField, ParsedMessage } from "./types.js";

/** Text bodies longer than this are cut for storage and search; the raw message keeps everything. */
export const MAX_PARSED_TEXT_CHARS = 256 * 1024;

function addressText(a: AddressObject | AddressObject[] | undefined): string | null {
  if (!a) return null;
  const list = Array.isArray(a) ? a : [a];
  const text = list.map((x) => x.text).join(", ");
  return text === "" ? null : text;
}

/** A parsed text or HTML body as stored and shown: null when absent or empty, else at most MAX_PARSED_TEXT_CHARS. */
export function cutParsedText(s: string | false | undefined | null): string | null {
  if (typeof s !== "string" || s === "") return null;
  return s.length > MAX_PARSED_TEXT_CHARS ? s.slice(0, MAX_PARSED_TEXT_CHARS) : s;
}

// crypto.hash (Node >= 20.12) hashes in one call without a Hash object; older Node 20 releases lack it.
const oneShotHash = typeof crypto.hash === "function" ? crypto.hash : null;

export function sha256Hex(buf: Buffer): string {
  return oneShotHash ? oneShotHash("sha256", buf, "hex") : crypto.createHash("sha256").update(buf).digest("hex");
}

/**
 * mailparser options. Its text-to-HTML and link conversions produce fields we never read. It hashes every attachment
 * as it decodes it (MD5 by default); asking for SHA-256 gives AttachmentMeta.sha256 without hashing the content twice.
 * keepCidLinks: with skipImageLinks the cid: pass returns the HTML unchanged anyway, but simpleParser still runs it,
 * and for a message without HTML it answers after a setImmediate (one more event-loop turn per message). The HTML is
 * the same either way (no HTML is `false` there, absent here: both null in ParsedMessage).
 */
export const PARSER_OPTIONS: SimpleParserOptions = {
  skipImageLinks: true,
  keepCidLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  checksumAlgo: "sha256",
};

/** A header field's folded line breaks: unfolded to one space. */
const FOLD = /\r?\n[ \t]+/g;

/** A message known only by its bytes: what a parse that failed (or was given up) leaves, with the reason. */
export function unparsed(raw: Buffer, reason: string, sha256 = sha256Hex(raw)): ParsedMessage {
  return {
    raw,
    sha256,
    size: raw.length,
    headers: [],
    subject: null,
    from: null,
    to: null,
    dateHeader: null,
    date: null,
    messageId: null,
    text: null,
    html: null,
    attachments: [],
    parseError: reason,
  };
}

/** Never throws: a message mailparser cannot read still yields a ParsedMessage with parseError set. */
export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  const sha256 = sha256Hex(raw);
  try {
    const m = await simpleParser(raw, PARSER_OPTIONS);
    const headers: HeaderField[] = [];
    let dateRaw: string | null = null; // the first Date field
    for (const line of m.headerLines ?? []) {
      const idx = line.line.indexOf(":");
      let rawValue = "";
      if (idx >= 0) {
        rawValue = line.line.slice(idx + 1);
        if (rawValue.includes("\n")) rawValue = rawValue.replace(FOLD, " "); // most fields are one line
        rawValue = rawValue.trim();
      }
      const field: HeaderField = { key: line.key, value: decodeWords(rawValue) };
      headers.push(field);
      if (dateRaw === null && field.key === "date") dateRaw = field.value;
    }
    // mailparser reads the Date header with new Date(value) but puts the parse time in its place when that fails
    // ("Sun, 1 Dez 2013"): a 2013 relay test would be dated today. The same reading, without the substitute.
    const when = dateRaw === null ? null : new Date(dateRaw);
    const dateOk = when !== null && !Number.isNaN(when.getTime()) ? when.toISOString() : null;
    const attachments: AttachmentMeta[] = m.attachments.map((a) => ({
      filename: a.filename ?? null,
      contentType: a.contentType,
      size: a.size ?? a.content.length,
      sha256: a.checksum || sha256Hex(a.content),
    }));
    // One object literal, fields in ParsedMessage order (no base object spread into a second one).
    return {
      raw,
      sha256,
      size: raw.length,
      headers,
      subject: m.subject ?? null,
      from: addressText(m.from),
      to: addressText(m.to),
      dateHeader: dateRaw,
      date: dateOk,
      messageId: m.messageId ?? null,
      text: cutParsedText(m.text),
      html: cutParsedText(m.html),
      attachments,
      parseError: null,
    };
  } catch (err) {
    return unparsed(raw, err instanceof Error ? err.message : String(err), sha256);
  }
}

/** RFC 2047 encoded-word decoding, by libmime (mailparser's own decoder). */
export function decodeWords(s: string): string {
  // Every encoded word starts with "=?"; without one libmime returns the text unchanged (most header fields).
  if (!s.includes("=?")) return s;
  try {
    return libmime.decodeWords(s);
  } catch {
    return s;
  }
}
