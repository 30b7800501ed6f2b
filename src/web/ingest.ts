// Turns raw message bytes plus an envelope into a store row, for messages that did not arrive over SMTP just now
// (archive import, demo history). Analysis is the same as for live mail.
import { randomBytes } from "node:crypto";
import { analyzeHere } from "../analysis/pool.js";
import { analyzedColumns, MAX_STORED_TEXT_CHARS } from "../store/row.js";
import type { NewMessage } from "../store/types.js";

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
  const env = { clientIp: meta.srcIp, helo: meta.helo, mailFrom: meta.mailFrom, rcptTo: meta.rcptTo };
  const { parsed, verdict } = await analyzeHere(raw, env, [...meta.sensorIps, meta.destIp], MAX_STORED_TEXT_CHARS);
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
    ...analyzedColumns(parsed, verdict),
    raw,
    dropReason: null,
  };
}
