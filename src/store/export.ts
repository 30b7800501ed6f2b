// `relaytrap export`: streams stored messages as JSONL or mbox (mboxrd), oldest first, from a read-only connection,
// so it is safe while the sensor runs.
import type { Writable } from "node:stream";
import type { MessageFilter, MessageRow, StoreReader } from "./types.js";

export type ExportFormat = "jsonl" | "mbox";

export interface ExportOptions {
  format: ExportFormat;
  filter: MessageFilter;
  /** Include raw bodies (base64 in jsonl). */
  raw: boolean;
  /** Called after each message written (a damaged store stops the export part way: the caller says where). */
  onMessage?: () => void;
}

export function exportRecord(row: MessageRow, raw: Buffer | null, withRaw: boolean): Record<string, unknown> {
  return {
    id: row.id,
    queueId: row.queueId,
    session: row.sessionId,
    receivedAt: new Date(row.receivedAt).toISOString(),
    srcIp: row.srcIp,
    srcPort: row.srcPort,
    destIp: row.destIp,
    destPort: row.destPort,
    channel: row.channel,
    envelope: { helo: row.helo, mailFrom: row.mailFrom, rcptTo: row.rcptTo },
    summary: {
      subject: row.subject,
      from: row.fromHeader,
      to: row.toHeader,
      date: row.dateHeader,
      messageId: row.messageIdHeader,
      size: row.size,
      sha256: row.sha256,
      kind: row.kind,
      attachments: row.attachments,
      parseError: row.parseError,
    },
    verdict: row.verdict,
    headers: row.headers,
    bodyStored: row.bodyStored,
    dropReason: row.dropReason,
    ...(withRaw && raw ? { raw: raw.toString("base64") } : {}),
  };
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** asctime(3) form used on mbox "From " lines. */
function asctime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** One mboxrd entry: "From " separator, body with ">*From " lines quoted one level more, blank line after. */
export function mboxEntry(row: MessageRow, raw: Buffer): Buffer {
  const sender = row.mailFrom && /^\S+$/.test(row.mailFrom) ? row.mailFrom : "MAILER-DAEMON";
  const body = raw.toString("latin1").replace(/^(>*From )/gm, ">$1");
  const tail = body.endsWith("\n") ? "\n" : "\n\n";
  return Buffer.from(`From ${sender} ${asctime(row.receivedAt)}\n${body}${tail}`, "latin1");
}

function write(out: Writable, chunk: string | Buffer): Promise<void> | null {
  return out.write(chunk) ? null : new Promise((r) => out.once("drain", () => r()));
}

export async function exportMessages(reader: StoreReader, out: Writable, o: ExportOptions): Promise<number> {
  let n = 0;
  for (const row of reader.iterateMessages(o.filter)) {
    const raw = o.raw || o.format === "mbox" ? reader.getRaw(row.id) : null;
    if (o.format === "mbox") {
      if (!raw) continue;
      const w = write(out, mboxEntry(row, raw));
      if (w) await w;
    } else {
      const w = write(out, JSON.stringify(exportRecord(row, raw, o.raw)) + "\n");
      if (w) await w;
    }
    n++;
    o.onMessage?.();
  }
  return n;
}
