// The single SQLite writer, in a worker thread so fsyncs never stall SMTP sessions. Group commit: every request that
// arrived while the previous commit was running is written in one transaction and one fsync.
import { parentPort, workerData } from "node:worker_threads";
import type { NewMessage, PrunePolicy, PruneReason, PruneReport, PruneResult, SessionRecord } from "../types.js";
import { openWriterDb, type Db } from "./db.js";

/** A statement for store/ modules (outbox, dropboxes, ...): run in the next group commit, durable when answered. */
export interface ExecArg {
  sql: string;
  params: unknown[];
}

/** A message row as bound to the INSERT: JSON columns already serialized on the main thread, because a structured
 * clone of the object graphs (headers, verdict, attachments) to this thread costs more than JSON.stringify there. */
export type MessageParams = Omit<NewMessage, "raw" | "rcptTo" | "verdict" | "attachments" | "headers" | "hasHtml" | "importedAt"> & {
  importedAt: number | null;
  rcptTo: string;
  rcptCount: number;
  bodyStored: 0 | 1;
  hasHtml: 0 | 1;
  verdict: string | null;
  confidence: string | null;
  attachments: string;
  headers: string;
};

/** A session row as bound to the INSERT (JSON columns serialized, see MessageParams). */
export type SessionParams = Omit<SessionRecord, "tls" | "auth" | "transcript" | "transcriptTruncated"> & {
  tls: string | null;
  auth: string;
  transcript: string;
  transcriptTruncated: 0 | 1;
};

export type WriterRequest =
  | { id: number; op: "putMessage"; arg: { params: MessageParams; raw: Buffer | null } }
  | { id: number; op: "exec"; arg: ExecArg[] }
  | { id: number; op: "putSession"; arg: SessionParams }
  | { id: number; op: "prune"; arg: PrunePolicy }
  | { id: number; op: "close" };

export type WriterResponse =
  | { id: number; ok: true; result: unknown; rawBytes: number }
  | { id: number; ok: false; error: string; code: string | null; rawBytes: number };

/** Rows deleted per statement while pruning, so one prune never holds the writer for long. */
const PRUNE_BATCH = 500;

if (!parentPort) throw new Error("writer-worker must run in a worker thread");
const port = parentPort;
const { path, maxDatabaseBytes } = workerData as { path: string; maxDatabaseBytes?: number };

let opened: { db: Db; rawBytes: number };
try {
  const db = openWriterDb(path, { maxDatabaseBytes });
  opened = { db, rawBytes: (db.prepare("SELECT COALESCE(SUM(size), 0) AS n FROM messages WHERE body_stored = 1").get() as { n: number }).n };
} catch (err) {
  // A thrown SqliteError reaches the main thread as a bare {code}: its message (what SQLite said) would be lost, so the
  // failure to open goes back as the answer to the ready handshake (id 0), and the thread exits. Not by throwing: an
  // uncaught error can overtake the message, while a Worker delivers pending messages before its "exit" event.
  const e = err as { message?: string; code?: string };
  port.postMessage({ id: 0, ok: false, error: e.message ?? String(err), code: e.code ?? null, rawBytes: 0 });
  process.exit(1);
}
const db = opened.db;
let rawBytes = opened.rawBytes;

const insertMessage = db.prepare(`INSERT INTO messages (queue_id, session_id, received_at, src_ip, src_port, dest_ip,
  dest_port, channel, helo, mail_from, rcpt_to, rcpt_count, subject, from_hdr, to_hdr, date_hdr, date_iso, message_id_hdr,
  size, sha256, body_stored, drop_reason, kind, verdict, parse_error, attachments, headers, text_body, has_html, imported_at, confidence)
  VALUES (@queueId, @sessionId, @receivedAt, @srcIp, @srcPort, @destIp, @destPort, @channel, @helo, @mailFrom, @rcptTo,
  @rcptCount, @subject, @fromHeader, @toHeader, @dateHeader, @date, @messageIdHeader, @size, @sha256, @bodyStored,
  @dropReason, @kind, @verdict, @parseError, @attachments, @headers, @textBody, @hasHtml, @importedAt, @confidence)`);
const insertRaw = db.prepare("INSERT INTO message_raw (message_id, data) VALUES (?, ?)");
const insertSession = db.prepare(`INSERT OR REPLACE INTO sessions (id, protocol, channel, started_at, ended_at, src_ip,
  src_port, dest_ip, dest_port, target, helo, rdns, tls, auth, transcript, transcript_truncated, commands, messages,
  close_reason) VALUES (@id, @protocol, @channel, @startedAt, @endedAt, @srcIp, @srcPort, @destIp, @destPort, @target,
  @helo, @rdns, @tls, @auth, @transcript, @transcriptTruncated, @commands, @messages, @closeReason)`);

function putMessage(m: { params: MessageParams; raw: Buffer | null }): number {
  const id = Number(insertMessage.run(m.params).lastInsertRowid);
  if (m.raw) insertRaw.run(id, m.raw);
  return id;
}

function putSession(s: SessionParams): void {
  insertSession.run(s);
}

function prune(p: PrunePolicy): PruneResult {
  const reports = new Map<PruneReason, PruneReport>();
  const report = (reason: PruneReason): PruneReport => {
    let r = reports.get(reason);
    if (!r) reports.set(reason, (r = { reason, messages: 0, sessions: 0, bodies: 0, bytes: 0 }));
    return r;
  };
  const delRaw = db.prepare("DELETE FROM message_raw WHERE message_id = ?");
  const delMsg = db.prepare("DELETE FROM messages WHERE id = ?");
  if (p.olderThan !== null) {
    const age = report("age");
    // Imported history keeps its original received_at (for the graphs); by default it ages from its import instead.
    const byImport = p.importedBy !== "received-time";
    const selects = byImport
      ? [
          db.prepare("SELECT id, size, body_stored FROM messages WHERE received_at < ? AND imported_at IS NULL ORDER BY id LIMIT ?"),
          db.prepare("SELECT id, size, body_stored FROM messages WHERE imported_at < ? ORDER BY id LIMIT ?"),
        ]
      : [db.prepare("SELECT id, size, body_stored FROM messages WHERE received_at < ? ORDER BY id LIMIT ?")];
    for (const old of selects) {
      for (;;) {
        const rows = old.all(p.olderThan, PRUNE_BATCH) as { id: number; size: number; body_stored: number }[];
        if (rows.length === 0) break;
        db.transaction(() => {
          for (const r of rows) {
            delRaw.run(r.id);
            delMsg.run(r.id);
            if (r.body_stored === 1) {
              rawBytes -= r.size;
              age.bytes += r.size;
            }
          }
        })();
        age.messages += rows.length;
      }
    }
    age.sessions = db.prepare("DELETE FROM sessions WHERE started_at < ?").run(p.olderThan).changes;
    db.prepare("DELETE FROM proxy_requests WHERE at < ?").run(p.olderThan);
    db.prepare("DELETE FROM proxy_sessions WHERE started_at < ?").run(p.olderThan);
  }
  const oldestBodies = db.prepare("SELECT id, size FROM messages WHERE body_stored = 1 ORDER BY id LIMIT ?");
  const markPruned = db.prepare("UPDATE messages SET body_stored = 0, drop_reason = 'quota' WHERE id = ?");
  while (rawBytes > p.quotaBytes) {
    const rows = oldestBodies.all(PRUNE_BATCH) as { id: number; size: number }[];
    if (rows.length === 0) break;
    const quota = report("quota");
    db.transaction(() => {
      for (const r of rows) {
        if (rawBytes <= p.quotaBytes) break;
        delRaw.run(r.id);
        markPruned.run(r.id);
        rawBytes -= r.size;
        quota.bodies++;
        quota.bytes += r.size;
      }
    })();
  }
  if (p.freeBytes) freeSpace(p.freeBytes, report("storage-full"));
  const list = [...reports.values()].filter((r) => r.messages + r.sessions + r.bodies > 0);
  const result: PruneResult = {
    deletedMessages: list.reduce((n, r) => n + r.messages, 0),
    deletedSessions: list.reduce((n, r) => n + r.sessions, 0),
    prunedBodies: list.reduce((n, r) => n + r.bodies, 0),
    rawBytes,
    reports: list,
  };
  if (result.deletedMessages > 0 || result.prunedBodies > 0) db.pragma("incremental_vacuum");
  return result;
}

/** Rows given up per step when storage is full: small steps, so no more is lost than needed. */
const FREE_BATCH = 50;
/** Steps per full-storage prune, so one call never holds the writer for long (the next failure prunes again). */
const FREE_MAX_STEPS = 200;

/** Storage is full (the storage cap or the disk): frees `bytes` of pages, oldest bodies first, then oldest rows. */
function freeSpace(bytes: number, result: PruneReport): void {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  const freeBytes = () => (db.pragma("freelist_count", { simple: true }) as number) * pageSize;
  const target = freeBytes() + bytes;
  const bodies = db.prepare("SELECT id, size FROM messages WHERE body_stored = 1 ORDER BY id LIMIT ?");
  const delRaw = db.prepare("DELETE FROM message_raw WHERE message_id = ?");
  const markPruned = db.prepare("UPDATE messages SET body_stored = 0, drop_reason = 'quota' WHERE id = ?");
  const oldMessages = db.prepare("SELECT id, size, body_stored FROM messages ORDER BY id LIMIT ?");
  const delMsg = db.prepare("DELETE FROM messages WHERE id = ?");
  const oldSessions = db.prepare("SELECT id FROM sessions ORDER BY started_at LIMIT ?");
  const delSession = db.prepare("DELETE FROM sessions WHERE id = ?");
  for (let step = 0; step < FREE_MAX_STEPS && freeBytes() < target; step++) {
    const withBody = bodies.all(FREE_BATCH) as { id: number; size: number }[];
    if (withBody.length > 0) {
      db.transaction(() => {
        for (const r of withBody) {
          delRaw.run(r.id);
          markPruned.run(r.id);
          rawBytes -= r.size;
          result.bodies++;
          result.bytes += r.size;
        }
      })();
      continue;
    }
    // No bodies left to give up: the oldest summaries and sessions go, as the age limit would take them.
    const msgs = oldMessages.all(FREE_BATCH) as { id: number; size: number; body_stored: number }[];
    const sessions = oldSessions.all(FREE_BATCH) as { id: string }[];
    if (msgs.length === 0 && sessions.length === 0) break;
    db.transaction(() => {
      for (const r of msgs) {
        delRaw.run(r.id);
        delMsg.run(r.id);
        if (r.body_stored === 1) {
          rawBytes -= r.size;
          result.bytes += r.size;
        }
      }
      for (const s of sessions) delSession.run(s.id);
    })();
    result.messages += msgs.length;
    result.sessions += sessions.length;
  }
}

const statements = new Map<string, ReturnType<typeof db.prepare>>();
function exec(list: ExecArg[]): Array<{ changes: number; lastInsertRowid: number }> {
  return list.map(({ sql, params }) => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    const info = (st.run as (...a: unknown[]) => { changes: number; lastInsertRowid: number | bigint }).apply(st, params);
    return { changes: info.changes, lastInsertRowid: Number(info.lastInsertRowid) };
  });
}

let queue: Array<Exclude<WriterRequest, { op: "prune" | "close" }>> = [];
let scheduled = false;

function errorResponse(id: number, err: unknown): WriterResponse {
  const e = err as { message?: string; code?: string };
  return { id, ok: false, error: e.message ?? String(err), code: e.code ?? null, rawBytes };
}

function run(req: Exclude<WriterRequest, { op: "prune" | "close" }>): unknown {
  return req.op === "putMessage" ? putMessage(req.arg) : req.op === "exec" ? exec(req.arg) : putSession(req.arg);
}

function flush(): void {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const before = rawBytes;
  let results: WriterResponse[] = [];
  try {
    // The common case: the whole batch in one transaction, one fsync, no per-request savepoint.
    db.transaction(() => {
      for (const req of batch) {
        const result = run(req);
        if (req.op === "putMessage" && req.arg.raw) rawBytes += req.arg.params.size;
        results.push({ id: req.id, ok: true, result: result ?? null, rawBytes });
      }
    })();
  } catch {
    // Something in the batch failed and the whole batch was rolled back: redo it one request per transaction, so a
    // bad row fails alone and every other request still commits (and the storage-full or I/O error, if that was it,
    // reaches each request it hits).
    rawBytes = before;
    results = [];
    for (const req of batch) {
      try {
        const result = db.transaction(() => run(req))();
        if (req.op === "putMessage" && req.arg.raw) rawBytes += req.arg.params.size;
        results.push({ id: req.id, ok: true, result: result ?? null, rawBytes });
      } catch (err) {
        results.push(errorResponse(req.id, err));
      }
    }
  }
  port.postMessage(results.map((r) => ({ ...r, rawBytes })));
}

port.on("message", (reqs: WriterRequest[]) => {
  for (const req of reqs) handle(req);
});

function handle(req: WriterRequest): void {
  if (req.op === "prune") {
    flush();
    try {
      port.postMessage({ id: req.id, ok: true, result: prune(req.arg), rawBytes });
    } catch (err) {
      port.postMessage(errorResponse(req.id, err));
    }
    return;
  }
  if (req.op === "close") {
    flush();
    statements.clear();
    db.close();
    port.postMessage({ id: req.id, ok: true, result: null, rawBytes });
    // Exit by running out of work rather than being terminated: a terminated thread can finalize better-sqlite3
    // statements after its environment is gone (a native assertion on Node 24).
    port.close();
    return;
  }
  queue.push(req);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}

port.postMessage({ id: 0, ok: true, result: "ready", rawBytes });
