// SQLite side of delivery: the outbox, the audit trail and the kill switch, composed with the dropbox tables
// (dropboxes.ts) into the one DeliveryStore. Writes go through the single writer (writer.exec); reads through the
// read-only connection. The CLI's kill switch opens its own short-lived connection (another process may be running the
// sensor; WAL + busy_timeout make that safe).
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { AuditRow, DeliveryCounters, DeliveryStore, ExpiryPolicy, NewOutboxEntry, OutboxRow, OutboxStatus, OutboxStore } from "../delivery.js";
import type { StoreReader, StoreWriter } from "../types.js";
import { DB_FILE, openReaderDb, openWriterDb } from "./db.js";
import { createSqliteDropboxStore, expireAddresses } from "./dropboxes.js";

const SWITCH_KEY = "switch";
const ALL_STATUSES: OutboxStatus[] = ["queued", "sending", "sent", "failed", "skipped", "dry-run"];

type Stmt = { sql: string; params: unknown[] };

const SQL = {
  outbox: `INSERT OR IGNORE INTO outbox (message_id, recipient, mode, status, src_ip, session_id, mail_from, received,
    created_at, attempts, next_attempt_at, updated_at)
    VALUES (@messageId, @recipient, @mode, @status, @srcIp, @sessionId, @mailFrom, @received, @createdAt, 0, @createdAt, @createdAt)`,
  audit: `INSERT INTO delivery_audit (at, message_id, recipient, decision, reason) VALUES (@at, @messageId, @recipient, @decision, @reason)`,
  claim: `UPDATE outbox SET status = 'sending', attempts = attempts + 1, updated_at = @now WHERE id = @id AND status = 'queued'`,
  finish: `UPDATE outbox SET status = @status, updated_at = @at, next_attempt_at = COALESCE(@nextAttemptAt, next_attempt_at),
    last_error = @error, route = COALESCE(@route, route), response = COALESCE(@response, response) WHERE id = @id`,
} as const;

function auditStmt(a: AuditRow): Stmt {
  return { sql: SQL.audit, params: [{ at: a.at, messageId: a.messageId, recipient: a.recipient, decision: a.decision, reason: a.reason }] };
}

function rowToOutbox(r: Record<string, unknown>): OutboxRow {
  return {
    id: r.id as number,
    messageId: r.message_id as number,
    recipient: r.recipient as string,
    mode: r.mode as OutboxRow["mode"],
    status: r.status as OutboxStatus,
    srcIp: r.src_ip as string,
    sessionId: r.session_id as string,
    mailFrom: r.mail_from as string,
    received: r.received as string,
    createdAt: r.created_at as number,
    attempts: r.attempts as number,
    nextAttemptAt: r.next_attempt_at as number,
    updatedAt: r.updated_at as number,
    lastError: (r.last_error as string | null) ?? null,
    route: (r.route as string | null) ?? null,
    response: (r.response as string | null) ?? null,
  };
}

function emptyStats(): Record<OutboxStatus, number> {
  return Object.fromEntries(ALL_STATUSES.map((s) => [s, 0])) as Record<OutboxStatus, number>;
}

export function createSqliteDeliveryStore(writer: StoreWriter, reader: StoreReader): DeliveryStore {
  return {
    ...createSqliteDropboxStore(writer, reader),
    ...createSqliteOutboxStore(writer, reader),
    async expire(p: ExpiryPolicy) {
      const st: Stmt[] = expireAddresses(p.addressesBefore);
      if (p.historyBefore !== null) {
        st.push({ sql: "DELETE FROM outbox WHERE created_at < ? AND status NOT IN ('queued', 'sending')", params: [p.historyBefore] });
        st.push({ sql: "DELETE FROM delivery_audit WHERE at < ?", params: [p.historyBefore] });
      }
      await writer.exec(st);
    },
  };
}

export function createSqliteOutboxStore(writer: StoreWriter, reader: StoreReader): OutboxStore {
  return {
    counters(since, srcIp, statuses): DeliveryCounters {
      const st = JSON.stringify(statuses);
      const total = reader.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM outbox WHERE created_at >= ? AND status IN (SELECT value FROM json_each(?))",
        since,
        st,
      )!.n;
      const perSource = reader.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM outbox WHERE src_ip = ? AND created_at >= ? AND status IN (SELECT value FROM json_each(?))",
        srcIp,
        since,
        st,
      )!.n;
      // Every recipient in the window, as stored: "same@", "SAME@" and "\"same\"@" are one mailbox, which SQL cannot
      // tell, so the policy (canonicalMailbox) folds them. The rows counted were reserved under the day cap: few.
      const perRecipient = new Map<string, number>();
      const rows = reader.all<{ recipient: string; n: number }>(
        `SELECT recipient, COUNT(*) AS n FROM outbox WHERE created_at >= ? AND status IN (SELECT value FROM json_each(?)) GROUP BY recipient`,
        since,
        st,
      );
      for (const r of rows) perRecipient.set(r.recipient, r.n);
      return { total, perSource, perRecipient };
    },

    async enqueue(entries: NewOutboxEntry[], audit: AuditRow[]) {
      const st: Stmt[] = entries.map((e) => ({ sql: SQL.outbox, params: [{ ...e }] }));
      for (const a of audit) st.push(auditStmt(a));
      if (st.length === 0) return [];
      const res = await writer.exec(st);
      return entries.map((_, i) => (res[i]!.changes > 0 ? res[i]!.lastInsertRowid : null));
    },

    async audit(rows) {
      if (rows.length) await writer.exec(rows.map(auditStmt));
    },

    undecidedMessages(kind, since, limit) {
      return reader
        .all<{ id: number }>(
          `SELECT id FROM messages m WHERE kind = ? AND received_at >= ?
           AND NOT EXISTS (SELECT 1 FROM delivery_audit a WHERE a.message_id = m.id) ORDER BY id LIMIT ?`,
          kind,
          since,
          limit,
        )
        .map((r) => r.id);
    },

    due(now, limit) {
      return reader
        .all<Record<string, unknown>>("SELECT * FROM outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?", now, limit)
        .map(rowToOutbox);
    },

    async claim(id, now) {
      const [r] = await writer.exec([{ sql: SQL.claim, params: [{ id, now }] }]);
      return (r?.changes ?? 0) > 0;
    },

    async finish(id, u, audit) {
      await writer.exec([
        {
          sql: SQL.finish,
          params: [{ id, status: u.status, at: u.at, nextAttemptAt: u.nextAttemptAt ?? null, error: u.error ?? null, route: u.route ?? null, response: u.response ?? null }],
        },
        auditStmt(audit),
      ]);
    },

    async requeueInterrupted(now) {
      const [r] = await writer.exec([
        {
          sql: "UPDATE outbox SET status = 'queued', updated_at = ?, last_error = 'interrupted (sensor stopped during delivery)' WHERE status = 'sending'",
          params: [now],
        },
      ]);
      return r?.changes ?? 0;
    },

    async expireQueued(before, now) {
      const rows = reader.all<Record<string, unknown>>("SELECT * FROM outbox WHERE status = 'queued' AND created_at < ?", before).map(rowToOutbox);
      if (rows.length === 0) return [];
      await writer.exec(
        rows.flatMap((r) => [
          { sql: "UPDATE outbox SET status = 'skipped', updated_at = ?, last_error = 'expired' WHERE id = ? AND status = 'queued'", params: [now, r.id] },
          auditStmt({ at: now, messageId: r.messageId, recipient: r.recipient, decision: "skipped", reason: "expired" }),
        ]),
      );
      return rows;
    },

    switchState() {
      const r = reader.get<{ value: string }>("SELECT value FROM delivery_state WHERE key = ?", SWITCH_KEY);
      return r?.value === "off" ? "off" : "on";
    },

    stats(since) {
      const out = emptyStats();
      for (const r of reader.all<{ status: OutboxStatus; n: number }>(
        "SELECT status, COUNT(*) AS n FROM outbox WHERE created_at >= ? GROUP BY status",
        since,
      ))
        out[r.status] = r.n;
      return out;
    },
  };
}

// ---- the kill switch from the command line (its own connection; the sensor may be running) ----------------------

export interface SwitchStatus {
  store: boolean;
  switch: "on" | "off";
  last24h: Record<OutboxStatus, number>;
  queued: number;
  dropboxes: number;
}

/** Persists the kill switch. Creates the store if needed, so `delivery off` works before the first start. */
export function setDeliverySwitch(dataDir: string, state: "on" | "off", now = Date.now()): void {
  mkdirSync(dataDir, { recursive: true });
  const db = openWriterDb(join(dataDir, DB_FILE));
  try {
    db.prepare("INSERT OR REPLACE INTO delivery_state (key, value, updated_at) VALUES (?, ?, ?)").run(SWITCH_KEY, state, now);
  } finally {
    db.close();
  }
}

export function readDeliveryStatus(dataDir: string, now = Date.now()): SwitchStatus {
  const path = join(dataDir, DB_FILE);
  const status: SwitchStatus = { store: false, switch: "on", last24h: emptyStats(), queued: 0, dropboxes: 0 };
  if (!existsSync(path)) return status;
  const db = openReaderDb(path);
  try {
    const hasTables = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'delivery_state'").get();
    status.store = true;
    if (!hasTables) return status;
    const sw = db.prepare("SELECT value FROM delivery_state WHERE key = ?").get(SWITCH_KEY) as { value: string } | undefined;
    status.switch = sw?.value === "off" ? "off" : "on";
    for (const r of db.prepare("SELECT status, COUNT(*) AS n FROM outbox WHERE created_at >= ? GROUP BY status").all(now - 86_400_000) as {
      status: OutboxStatus;
      n: number;
    }[])
      status.last24h[r.status] = r.n;
    status.queued = (db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status IN ('queued', 'sending')").get() as { n: number }).n;
    status.dropboxes = (db.prepare("SELECT COUNT(*) AS n FROM dropboxes").get() as { n: number }).n;
  } finally {
    db.close();
  }
  return status;
}

/** A delivery as the web UI lists it: the outbox row and the message it carries. */
export interface DeliveryListItem extends OutboxRow {
  subject: string | null;
}

/** Newest first; `before` is the cursor (an outbox id). */
export function listDeliveries(reader: StoreReader, f: { limit: number; before?: number | undefined; messageId?: number | undefined }): DeliveryListItem[] {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.before !== undefined) (clauses.push("o.id < ?"), params.push(f.before));
  if (f.messageId !== undefined) (clauses.push("o.message_id = ?"), params.push(f.messageId));
  const where = clauses.length ? "WHERE " + clauses.join(" AND ") : "";
  return reader
    .all<Record<string, unknown>>(
      `SELECT o.*, m.subject AS subject FROM outbox o LEFT JOIN messages m ON m.id = o.message_id ${where} ORDER BY o.id DESC LIMIT ?`,
      ...params,
      f.limit,
    )
    .map((r) => ({ ...rowToOutbox(r), subject: (r.subject as string | null) ?? null }));
}
