// What parsing and analysis contribute to a message's store row, for every message (src/ingest.ts: live mail, archive
// import, demo history).
import type { StoredParse } from "../analysis/pool.js";
import type { Verdict } from "../analysis/types.js";
import type { NewMessage } from "./types.js";

/** Characters of parsed text stored for search and the message page; the raw message keeps everything. */
export const MAX_STORED_TEXT_CHARS = 64 * 1024;

export type AnalyzedColumns = Pick<
  NewMessage,
  | "subject"
  | "fromHeader"
  | "toHeader"
  | "dateHeader"
  | "date"
  | "messageIdHeader"
  | "size"
  | "sha256"
  | "kind"
  | "verdict"
  | "confidence"
  | "parseError"
  | "attachments"
  | "headers"
  | "textBody"
  | "hasHtml"
>;

/** `p.text` is stored as it is: the pool has cut it to the maxTextChars it was given (MAX_STORED_TEXT_CHARS). */
export function analyzedColumns(p: StoredParse, verdict: Verdict): AnalyzedColumns {
  return {
    subject: p.subject,
    fromHeader: p.from,
    toHeader: p.to,
    dateHeader: p.dateHeader,
    date: p.date,
    messageIdHeader: p.messageId,
    size: p.size,
    sha256: p.sha256,
    kind: verdict.kind,
    verdict,
    confidence: verdict.confidence ?? null,
    parseError: p.parseError,
    attachments: p.attachments,
    headers: p.headers,
    textBody: p.text,
    hasHtml: p.hasHtml,
  };
}
