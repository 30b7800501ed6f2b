// On-demand parts of a stored message, parsed from the raw bytes when a page asks: the HTML body and attachments.
// The web server shares the sensor's thread, so these parse with nothing they do not need: mailparser's HTML-to-text
// conversion alone took 3.2 s on a crafted 9 MB HTML-only message (168 ms without it).
import { simpleParser, type SimpleParserOptions } from "mailparser";
import { cutParsedText, PARSER_OPTIONS } from "../analysis/parse.js";

/** The sensor's parser options, without the HTML-to-text conversion (pages show the HTML, never text made from it). */
const PARTS_OPTIONS: SimpleParserOptions = { ...PARSER_OPTIONS, skipHtmlToText: true };

/** The HTML body, cut to MAX_PARSED_TEXT_CHARS as parseMessage cuts it (null when there is none or the message cannot
 * be parsed): the sanitizer and the page get no more than that. */
export async function htmlPart(raw: Buffer): Promise<string | null> {
  try {
    return cutParsedText((await simpleParser(raw, PARTS_OPTIONS)).html);
  } catch {
    return null;
  }
}

export interface AttachmentContent {
  filename: string | null;
  content: Buffer;
}

/** The n-th attachment (same order as the stored attachment list), or null. */
export async function attachmentContent(raw: Buffer, index: number): Promise<AttachmentContent | null> {
  try {
    const m = await simpleParser(raw, PARTS_OPTIONS);
    const a = m.attachments[index];
    return a ? { filename: a.filename ?? null, content: a.content } : null;
  } catch {
    return null;
  }
}

/** A Content-Disposition value with an ASCII fallback name and the UTF-8 name (RFC 6266 / 5987). */
export function contentDisposition(kind: "attachment" | "inline", filename: string | null): string {
  if (!filename) return kind;
  const ascii = filename.replace(/[^\x20-\x7e]|["\\/;]/g, "_").slice(0, 150) || "attachment";
  const utf8 = encodeURIComponent(filename.slice(0, 150)).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}
