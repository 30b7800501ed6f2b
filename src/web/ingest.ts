// Turns raw message bytes plus an envelope into a store row, for messages that did not arrive over SMTP just now
// (archive import, demo history). Analysis is the same as for live mail.
import { randomBytes } from "node:crypto";
import { analyze } from "../analysis/index.js";
import { parseMessage } from "../analysis/parse.js";
import type { NewMessage } from "../store/types.js";

/** Characters of parsed text kept for search (same as the sensor keeps). */
export const MAX_INGEST_TEXT_CHARS = 64 * 1024;

export interface IngestMeta {
  receivedAt: number;
  srcIp: string;
  destIp: string;
  destPort: number;
  channel: string;
  sessionId: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  sensorIps: string[];
}

export async function buildRow(raw: Buffer, meta: IngestMeta): Promise<NewMessage> {
  const parsed = await parseMessage(raw);
  const verdict = analyze(parsed, { clientIp: meta.srcIp, helo: meta.helo, mailFrom: meta.mailFrom, rcptTo: meta.rcptTo }, [...meta.sensorIps, meta.destIp]);
  return {
    queueId: randomBytes(5).toString("hex").toUpperCase(),
    sessionId: meta.sessionId,
    receivedAt: meta.receivedAt,
    srcIp: meta.srcIp,
    srcPort: 0,
    destIp: meta.destIp,
    destPort: meta.destPort,
    channel: meta.channel,
    helo: meta.helo,
    mailFrom: meta.mailFrom,
    rcptTo: meta.rcptTo,
    subject: parsed.subject,
    fromHeader: parsed.from,
    toHeader: parsed.to,
    dateHeader: parsed.dateHeader,
    date: parsed.date,
    messageIdHeader: parsed.messageId,
    size: parsed.size,
    sha256: parsed.sha256,
    raw,
    dropReason: null,
    kind: verdict.kind,
    verdict,
    parseError: parsed.parseError,
    attachments: parsed.attachments,
    headers: parsed.headers,
    textBody: parsed.text ? parsed.text.slice(0, MAX_INGEST_TEXT_CHARS) : null,
    hasHtml: parsed.html !== null,
  };
}
