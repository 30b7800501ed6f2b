// The sensor's durable collector outbox: events queued through the single writer, message summaries read by a cursor
// over the messages table (already durable), the cursor advanced only after the collector acknowledged a batch.
import type { FleetEvent, FleetMessage, FleetVerdict } from "../../fleet/protocol.js";
import type { StoredKind, StoreReader, StoreWriter } from "../types.js";
import { json, messageEnvelope } from "./db.js";

export const MESSAGE_CURSOR_KEY = "message_cursor";
export const FLEET_DROPBOXES_KEY = "fleet_dropboxes";

/** Queues serialized events in one commit. */
export async function queueEvents(writer: StoreWriter, events: string[]): Promise<void> {
  if (events.length === 0) return;
  await writer.exec(events.map((e) => ({ sql: "INSERT INTO collector_events (event) VALUES (?)", params: [e] })));
}

export function queuedEventCount(reader: StoreReader): number {
  return reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM collector_events")?.n ?? 0;
}

export function readState(reader: StoreReader, key: string): string | null {
  return reader.get<{ value: string }>("SELECT value FROM collector_state WHERE key = ?", key)?.value ?? null;
}

export async function writeState(writer: StoreWriter, key: string, value: string, now = Date.now()): Promise<void> {
  await writer.exec([
    {
      sql: "INSERT INTO collector_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      params: [key, value, now],
    },
  ]);
}


function fleetVerdict(v: unknown): FleetVerdict | null {
  if (v === null || typeof v !== "object") return null;
  const x = v as Record<string, unknown>;
  const strings = (a: unknown) => (Array.isArray(a) ? a.filter((s): s is string => typeof s === "string") : []);
  if (x.kind !== "relay-test" && x.kind !== "spam" && x.kind !== "other") return null;
  return {
    kind: x.kind,
    testedIps: strings(x.testedIps),
    matchesSensor: x.matchesSensor === true,
    dropboxes: strings(x.dropboxes),
    score: typeof x.score === "number" && Number.isFinite(x.score) ? x.score : 0,
    tester: typeof x.tester === "string" ? x.tester : undefined,
    confidence: confidenceOf(x.confidence),
  };
}

function confidenceOf(c: unknown): FleetVerdict["confidence"] {
  return c === "certain" || c === "likely" || c === "possible" ? c : null;
}

/** Messages stored after the cursor, oldest first; raw bodies (base64) only when asked for and at most maxRawBytes. */
export function messagesAfter(reader: StoreReader, cursor: number, limit: number, raw: { include: boolean; maxBytes: number }): FleetMessage[] {
  const rows = reader.all<Record<string, unknown>>(
    `SELECT m.id, m.queue_id, m.session_id, m.received_at, m.src_ip, m.src_port, m.dest_ip, m.dest_port, m.channel, m.helo, m.mail_from,
       m.rcpt_to, m.subject, m.size, m.sha256, m.kind, m.verdict, m.confidence, m.body_stored
       ${raw.include ? ", (SELECT CASE WHEN length(r.data) <= ? THEN r.data END FROM message_raw r WHERE r.message_id = m.id) AS raw" : ""}
     FROM messages m WHERE m.id > ? ORDER BY m.id LIMIT ?`,
    ...(raw.include ? [raw.maxBytes] : []),
    cursor,
    limit,
  );
  return rows.map((r) => ({
    ...messageEnvelope(r),
    subject: (r.subject as string | null) ?? null,
    size: r.size as number,
    sha256: r.sha256 as string,
    kind: r.kind as StoredKind,
    verdict: fleetVerdict(json(r.verdict, null)),
    confidence: confidenceOf(r.confidence),
    bodyStored: r.body_stored === 1,
    raw: Buffer.isBuffer(r.raw) ? r.raw.toString("base64") : undefined,
  }));
}

/** Queued events, oldest first. */
export function queuedEvents(reader: StoreReader, limit: number): FleetEvent[] {
  return reader
    .all<{ id: number; event: string }>("SELECT id, event FROM collector_events ORDER BY id LIMIT ?", limit)
    .map((r) => ({ id: r.id, event: json<FleetEvent["event"]>(r.event, { eventid: "invalid", timestamp: new Date(0).toISOString() }) }));
}

/** After the collector acknowledged a batch: advance the message cursor and drop the pushed events, in one commit. */
export async function acknowledge(writer: StoreWriter, ack: { cursor: number; lastEventId: number | null }, now = Date.now()): Promise<void> {
  const statements: Array<{ sql: string; params: unknown[] }> = [
    {
      sql: "INSERT INTO collector_state (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
      params: [MESSAGE_CURSOR_KEY, String(ack.cursor), now],
    },
  ];
  if (ack.lastEventId !== null) statements.push({ sql: "DELETE FROM collector_events WHERE id <= ?", params: [ack.lastEventId] });
  await writer.exec(statements);
}
