// SQLite side of delivery: dropbox and recipient tables, the outbox, the audit trail and the kill switch.
// Writes go through the single writer (writer.exec); reads through the read-only connection. The CLI's kill switch
// opens its own short-lived connection (another process may be running the sensor; WAL + busy_timeout make that safe).
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type {
  AuditRow,
  DeliveryCounters,
  DeliveryStore,
  DropboxRow,
  ExpiryPolicy,
  NewOutboxEntry,
  OutboxRow,
  OutboxStatus,
  RecipientRow,
  RecipientSighting,
  RecurringRule,
  Sighting,
} from "../delivery.js";
import type { StoreReader, StoreWriter } from "../types.js";
import { DB_FILE, openReaderDb, openWriterDb } from "./db.js";

/** Recipients of one message counted in the recipient table (a message has at most the RCPT limit anyway). */
export const MAX_SIGHTING_RECIPIENTS = 1000;
const SWITCH_KEY = "switch";
const ALL_STATUSES: OutboxStatus[] = ["queued", "sending", "sent", "failed", "skipped", "dry-run"];

type Stmt = { sql: string; params: unknown[] };

const SQL = {
  source: `INSERT INTO address_sources (role, address, src_ip, last_seen) VALUES (@role, @a, @ip, @t)
    ON CONFLICT (role, address, src_ip) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`,
  dropbox: `INSERT INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
    VALUES (@a, @t, @t, 1, (SELECT COUNT(*) FROM address_sources WHERE role = 'd' AND address = @a), @tester, 'relay-test')
    ON CONFLICT (address) DO UPDATE SET first_seen = MIN(dropboxes.first_seen, excluded.first_seen),
      last_seen = MAX(dropboxes.last_seen, excluded.last_seen), tests = dropboxes.tests + 1,
      distinct_sources = excluded.distinct_sources, tester = COALESCE(excluded.tester, dropboxes.tester), source = 'relay-test'`,
  recipient: `INSERT INTO recipients (recipient, messages, distinct_sources, first_seen, last_seen)
    VALUES (@a, @n, (SELECT COUNT(*) FROM address_sources WHERE role = 'r' AND address = @a), @first, @t)
    ON CONFLICT (recipient) DO UPDATE SET messages = recipients.messages + @n, distinct_sources = excluded.distinct_sources,
      first_seen = MIN(recipients.first_seen, excluded.first_seen), last_seen = MAX(recipients.last_seen, excluded.last_seen)`,
  recurring: `INSERT INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
    SELECT recipient, first_seen, last_seen, 0, distinct_sources, NULL, 'recurring' FROM recipients
    WHERE recipient = @a AND messages >= @minMessages AND distinct_sources >= @minSources
    ON CONFLICT (address) DO UPDATE SET last_seen = MAX(dropboxes.last_seen, excluded.last_seen),
      distinct_sources = CASE WHEN dropboxes.source = 'recurring' THEN excluded.distinct_sources ELSE dropboxes.distinct_sources END`,
  seen: `UPDATE dropboxes SET last_seen = MAX(last_seen, @t) WHERE address = @a`,
  // The same four steps for a whole batch of spam recipients (a JSON array of {a, ip, n, first, t}), in four
  // statements instead of four per recipient: a spam run names thousands of distinct recipients, and per-row
  // statements cost the writer ~2 ms per 50-recipient message. Rows are upserted one by one in array order, as the
  // per-row statements did; the recurring check and last_seen refresh run once per address, after all its rows.
  sourcesMany: `INSERT INTO address_sources (role, address, src_ip, last_seen)
    SELECT 'r', json_extract(value, '$.a'), json_extract(value, '$.ip'), json_extract(value, '$.t') FROM json_each(@batch) WHERE true
    ON CONFLICT (role, address, src_ip) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`,
  recipientsMany: `INSERT INTO recipients (recipient, messages, distinct_sources, first_seen, last_seen)
    SELECT a, n, (SELECT COUNT(*) FROM address_sources WHERE role = 'r' AND address = a), first, t
    FROM (SELECT json_extract(value, '$.a') AS a, json_extract(value, '$.n') AS n, json_extract(value, '$.first') AS first,
      json_extract(value, '$.t') AS t FROM json_each(@batch)) WHERE true
    ON CONFLICT (recipient) DO UPDATE SET messages = recipients.messages + excluded.messages,
      distinct_sources = excluded.distinct_sources, first_seen = MIN(recipients.first_seen, excluded.first_seen),
      last_seen = MAX(recipients.last_seen, excluded.last_seen)`,
  recurringMany: `INSERT INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
    SELECT recipient, first_seen, last_seen, 0, distinct_sources, NULL, 'recurring' FROM recipients
    WHERE recipient IN (SELECT json_extract(value, '$.a') FROM json_each(@batch))
      AND messages >= @minMessages AND distinct_sources >= @minSources
    ON CONFLICT (address) DO UPDATE SET last_seen = MAX(dropboxes.last_seen, excluded.last_seen),
      distinct_sources = CASE WHEN dropboxes.source = 'recurring' THEN excluded.distinct_sources ELSE dropboxes.distinct_sources END`,
  seenMany: `UPDATE dropboxes SET last_seen = MAX(last_seen,
      (SELECT MAX(json_extract(value, '$.t')) FROM json_each(@batch) WHERE json_extract(value, '$.a') = dropboxes.address))
    WHERE address IN (SELECT json_extract(value, '$.a') FROM json_each(@batch))`,
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

function rowToDropbox(r: Record<string, unknown>): DropboxRow {
  return {
    address: r.address as string,
    firstSeen: r.first_seen as number,
    lastSeen: r.last_seen as number,
    tests: r.tests as number,
    distinctSources: r.distinct_sources as number,
    tester: (r.tester as string | null) ?? null,
    source: r.source as DropboxRow["source"],
  };
}

function emptyStats(): Record<OutboxStatus, number> {
  return Object.fromEntries(ALL_STATUSES.map((s) => [s, 0])) as Record<OutboxStatus, number>;
}

export function createSqliteDeliveryStore(writer: StoreWriter, reader: StoreReader): DeliveryStore {
  return {
    async recordSighting(s: Sighting, rule: RecurringRule) {
      const st: Stmt[] = [];
      const t = s.at;
      for (const a of new Set(s.dropboxes.map((d) => d.toLowerCase()))) {
        st.push({ sql: SQL.source, params: [{ role: "d", a, ip: s.srcIp, t }] });
        st.push({ sql: SQL.dropbox, params: [{ a, t, tester: s.tester }] });
      }
      for (const a of new Set(s.recipients.slice(0, MAX_SIGHTING_RECIPIENTS).map((r) => r.toLowerCase()))) {
        st.push({ sql: SQL.source, params: [{ role: "r", a, ip: s.srcIp, t }] });
        st.push({ sql: SQL.recipient, params: [{ a, n: 1, first: t, t }] });
        st.push({ sql: SQL.recurring, params: [{ a, minMessages: rule.minMessages, minSources: rule.minSources }] });
        st.push({ sql: SQL.seen, params: [{ a, t }] });
      }
      if (st.length) await writer.exec(st);
    },

    async recordRecipients(batch: RecipientSighting[], rule: RecurringRule) {
      if (batch.length === 0) return;
      const json = JSON.stringify(batch.map((r) => ({ a: r.address, ip: r.srcIp, n: r.messages, first: r.first, t: r.last })));
      await writer.exec([
        { sql: SQL.sourcesMany, params: [{ batch: json }] },
        { sql: SQL.recipientsMany, params: [{ batch: json }] },
        { sql: SQL.recurringMany, params: [{ batch: json, minMessages: rule.minMessages, minSources: rule.minSources }] },
        { sql: SQL.seenMany, params: [{ batch: json }] },
      ]);
    },

    knownDropboxes(addresses) {
      if (addresses.length === 0) return new Set();
      const rows = reader.all<{ address: string }>(
        "SELECT address FROM dropboxes WHERE source = 'relay-test' AND address IN (SELECT value FROM json_each(?))",
        JSON.stringify(addresses.map((a) => a.toLowerCase())),
      );
      return new Set(rows.map((r) => r.address));
    },

    listDropboxes(limit = 100) {
      return reader.all<Record<string, unknown>>("SELECT * FROM dropboxes ORDER BY last_seen DESC LIMIT ?", limit).map(rowToDropbox);
    },

    topRecipients(limit = 100) {
      return reader
        .all<Record<string, unknown>>("SELECT * FROM recipients ORDER BY messages DESC, recipient LIMIT ?", limit)
        .map((r) => ({
          recipient: r.recipient as string,
          messages: r.messages as number,
          distinctSources: r.distinct_sources as number,
          firstSeen: r.first_seen as number,
          lastSeen: r.last_seen as number,
        })) satisfies RecipientRow[];
    },

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

    async expire(p: ExpiryPolicy) {
      const st: Stmt[] = [
        { sql: "DELETE FROM address_sources WHERE last_seen < ?", params: [p.addressesBefore] },
        { sql: "DELETE FROM dropboxes WHERE last_seen < ?", params: [p.addressesBefore] },
        { sql: "DELETE FROM recipients WHERE last_seen < ?", params: [p.addressesBefore] },
      ];
      if (p.historyBefore !== null) {
        st.push({ sql: "DELETE FROM outbox WHERE created_at < ? AND status NOT IN ('queued', 'sending')", params: [p.historyBefore] });
        st.push({ sql: "DELETE FROM delivery_audit WHERE at < ?", params: [p.historyBefore] });
      }
      await writer.exec(st);
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
