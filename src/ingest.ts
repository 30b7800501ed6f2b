// The message pipeline: every trapped message, live (SMTP, proxy-diverted SMTP) or history (archive import, demo
// seeding), goes analyze -> source cutoff -> durable write -> events -> dropbox learning and delivery, here and only here.
// What history leaves out (cutoff, events, delivery) it leaves out by not passing those options, not by another path.
import { randomBytes } from "node:crypto";
import { analyzeHere, type AnalysisPool } from "./analysis/pool.js";
import { sensorNameSet } from "./analysis/sensor-names.js";
import type { DeliveryEngine } from "./delivery/engine.js";
import type { Dispatcher, EventContext } from "./events/dispatcher.js";
import type { SourceCutoff } from "./policy/cutoff.js";
import type { CompletedMessage, StoreOutcome } from "./smtp/session.js";
import { analyzedColumns, MAX_STORED_TEXT_CHARS } from "./store/row.js";
import { StoreError } from "./store/sqlite/writer.js";
import type { MessageColumns, NewMessage, StoredKind, StoreWriter } from "./store/types.js";

/** Parse + analysis: the sensor's worker pool, or IN_THREAD. */
export type Analyzer = Pick<AnalysisPool, "analyze">;

/** Parse + analysis on the calling thread, for history (archive import, demo seeding): no SMTP client waits on it. */
export const IN_THREAD: Analyzer = {
  analyze: (raw, env, sensorIps, opts) => analyzeHere(raw, env, sensorIps, MAX_STORED_TEXT_CHARS, opts),
};

/** What the live session knew when the message came in: its events' context and, for delivery's Received header, the
 * client facts. History has none. */
export interface LiveSession {
  ctx: EventContext;
  rdns: string | null;
  esmtp: boolean;
  tls: boolean;
}

export interface IngestMessage
  extends Pick<MessageColumns, "sessionId" | "receivedAt" | "srcIp" | "srcPort" | "destIp" | "destPort" | "channel" | "helo" | "mailFrom" | "rcptTo"> {
  raw: Buffer;
  /** The queue id the client was told; history gets a fresh one. (receivedAt: for history the original date; destIp:
   * the address the client connected to, tested as a sensor IP along with IngestOptions.sensorIps.) */
  queueId?: string;
  session?: LiveSession;
}

/** A StoreOutcome (what the SMTP layer answers by), with what was stored when it was. */
export type IngestOutcome = { ok: true; id: number; kind: StoredKind; bodyStored: boolean } | Extract<StoreOutcome, { ok: false }>;

export interface IngestOptions {
  analysis: Analyzer;
  writer: StoreWriter;
  /** Configured public addresses (behind NAT); the address each message came in on is added to them. */
  sensorIps: readonly string[];
  /** The sensor's host names: role mail to them (postmaster@<hostname>) is mail to the sensor, never a relay test. */
  sensorNames: readonly string[];
  log: (line: string) => void;
  /** Dropboxes known so far beyond this sensor's own (the fleet's). */
  knownDropboxes?: () => ReadonlySet<string> | undefined;
  /** Live mail: the per-source storage cutoff. Without it every body is stored. */
  cutoff?: SourceCutoff;
  /** Live mail: smtp.message.stored / .dropped. History is not news and emits none. */
  events?: Pick<Dispatcher, "emit">;
  /** Live mail: dropbox learning and (if enabled) delivery. History is never delivered. */
  delivery?: Pick<DeliveryEngine, "onStored">;
  /** Archive import: stamps imported_at (pruning by age can go by it, storage.pruneImported). */
  importedAt?: () => number;
  /** A write failed for lack of space (the sensor frees some). */
  onStorageFull?: () => void;
  /** A body was stored (the sensor checks its quota). */
  onBodyStored?: () => void;
}

export type Ingest = (m: IngestMessage) => Promise<IngestOutcome>;

/** The context of a message's events when no live session gave one. */
const historyContext = (m: IngestMessage): EventContext => ({
  session: m.sessionId,
  protocol: m.channel,
  src_ip: m.srcIp,
  src_port: m.srcPort,
  dest_ip: m.destIp,
  dest_port: m.destPort,
});

export function createIngest(o: IngestOptions): Ingest {
  const sensorNames = sensorNameSet(o.sensorNames);

  return async (m) => {
    // The tested IP is the one the client connected to, or (behind NAT) a configured public address.
    const knownDropboxes = o.knownDropboxes?.();
    const { parsed, verdict } = await o.analysis.analyze(
      m.raw,
      { clientIp: m.srcIp, helo: m.helo, mailFrom: m.mailFrom, rcptTo: m.rcptTo },
      [...o.sensorIps, m.destIp],
      { sensorNames, ...(knownDropboxes ? { knownDropboxes } : {}) },
    );
    const keepBody = !o.cutoff || o.cutoff.decide(m.srcIp, m.raw.length, m.receivedAt) !== "drop";
    const queueId = m.queueId ?? randomBytes(5).toString("hex").toUpperCase();
    const row: NewMessage = {
      queueId,
      sessionId: m.sessionId,
      receivedAt: m.receivedAt,
      srcIp: m.srcIp,
      srcPort: m.srcPort,
      destIp: m.destIp,
      destPort: m.destPort,
      channel: m.channel,
      helo: m.helo,
      mailFrom: m.mailFrom,
      rcptTo: m.rcptTo,
      ...analyzedColumns(parsed, verdict),
      raw: keepBody ? m.raw : null,
      dropReason: keepBody ? null : "source-cutoff",
      ...(o.importedAt ? { importedAt: o.importedAt() } : {}),
    };
    let id: number;
    try {
      id = await o.writer.putMessage(row);
    } catch (err) {
      const diskFull = err instanceof StoreError && err.diskFull;
      if (diskFull) o.onStorageFull?.();
      o.log(`relaytrap: storing a message failed: ${(err as Error).message}`);
      return { ok: false, reason: diskFull ? "disk-full" : "error" };
    }
    const ctx = m.session?.ctx ?? historyContext(m);
    o.events?.emit("smtp.message.stored", ctx, {
      message: id,
      queue_id: queueId,
      size: row.size,
      sha256: row.sha256,
      rcpt_count: m.rcptTo.length,
      mail_from: m.mailFrom,
      subject: row.subject,
      kind: row.kind,
      tested_ips: verdict.testedIps.length ? verdict.testedIps : undefined,
      matches_sensor: verdict.kind === "relay-test" ? verdict.matchesSensor : undefined,
      confidence: verdict.confidence ?? undefined,
      body_stored: keepBody,
    });
    if (!keepBody) o.events?.emit("smtp.message.dropped", ctx, { reason: "source-cutoff", size: row.size, message: id });
    if (keepBody) o.onBodyStored?.();
    // Off the SMTP path: learns dropboxes, and queues a delivery only if the operator enabled it.
    o.delivery?.onStored({
      id,
      queueId,
      receivedAt: m.receivedAt,
      srcIp: m.srcIp,
      helo: m.helo,
      mailFrom: m.mailFrom,
      rcptTo: m.rcptTo,
      kind: verdict.kind,
      verdict,
      bodyStored: keepBody,
      size: row.size,
      hasHtml: row.parseError ? null : row.hasHtml,
      attachments: row.parseError ? null : row.attachments.length,
      rdns: m.session?.rdns ?? null,
      esmtp: m.session?.esmtp ?? false,
      tls: m.session?.tls ?? false,
      ctx,
    });
    return { ok: true, id, kind: row.kind, bodyStored: keepBody };
  };
}

/** A message an SMTP session (direct, or diverted from the proxy trap) completed. */
export function smtpMessage(m: CompletedMessage): IngestMessage {
  const s = m.session;
  return {
    raw: m.raw,
    queueId: m.queueId,
    sessionId: s.id,
    receivedAt: m.receivedAt,
    srcIp: s.ctx.src_ip,
    srcPort: s.ctx.src_port,
    destIp: s.ctx.dest_ip,
    destPort: s.ctx.dest_port,
    channel: s.o.channel,
    helo: m.helo,
    mailFrom: m.mailFrom,
    rcptTo: m.rcptTo,
    session: { ctx: s.ctx, rdns: s.rdns, esmtp: s.esmtp, tls: s.tls !== null },
  };
}
