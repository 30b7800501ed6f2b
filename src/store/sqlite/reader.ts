// Read side of the SQLite store: a read-only connection used by export, the web API and start-up accounting.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { MessageFilter, MessageRow, SessionRecord, SourceCount, StoreReader } from "../types.js";
import { DB_FILE, MESSAGE_COLUMNS, openReaderDb, rowToMessage, rowToSession } from "./db.js";

/** Rows fetched per page when iterating the whole store. */
const ITERATE_PAGE = 500;
export const MAX_LIST_LIMIT = 1000;

export class NoStoreError extends Error {}

function where(f: MessageFilter): { sql: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.kind !== undefined) (clauses.push("kind = ?"), params.push(f.kind));
  if (f.since !== undefined) (clauses.push("received_at >= ?"), params.push(f.since));
  if (f.until !== undefined) (clauses.push("received_at < ?"), params.push(f.until));
  if (f.srcIp !== undefined) (clauses.push("src_ip = ?"), params.push(f.srcIp));
  if (f.before !== undefined) (clauses.push("id < ?"), params.push(f.before));
  if (f.after !== undefined) (clauses.push("id > ?"), params.push(f.after));
  return { sql: clauses.length ? "WHERE " + clauses.join(" AND ") : "", params };
}

export function openSqliteReader(dataDir: string): StoreReader {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) throw new NoStoreError(`no relaytrap store at ${path}`);
  const db = openReaderDb(path);
  // This connection cannot migrate: a store not yet migrated by its writer (an older sensor still running, when a newer
  // `relaytrap export` reads it) has no has_html column (010), and its rows read as stored before it (unknown).
  const present = new Set((db.pragma("table_info(messages)") as Array<{ name: string }>).map((c) => c.name));
  let columns = present.has("has_html") ? MESSAGE_COLUMNS : MESSAGE_COLUMNS.replace("has_html", "NULL AS has_html");
  if (!present.has("confidence")) columns = columns.replace("confidence", "NULL AS confidence"); // 011

  const list = (f: MessageFilter, order: "ASC" | "DESC"): MessageRow[] => {
    const w = where(f);
    const limit = Math.min(Math.max(1, f.limit ?? 100), MAX_LIST_LIMIT);
    const rows = db.prepare(`SELECT ${columns} FROM messages ${w.sql} ORDER BY id ${order} LIMIT ?`).all(...w.params, limit);
    return (rows as Record<string, unknown>[]).map(rowToMessage);
  };

  return {
    listMessages: (f) => list(f, "DESC"),
    *iterateMessages(f) {
      let after = f.after ?? 0;
      let left = f.limit ?? Number.POSITIVE_INFINITY;
      while (left > 0) {
        const page = list({ ...f, after, limit: Math.min(ITERATE_PAGE, left) }, "ASC");
        if (page.length === 0) return;
        for (const row of page) yield row;
        after = page[page.length - 1]!.id;
        left -= page.length;
      }
    },
    getMessage(id) {
      const r = db.prepare(`SELECT ${columns} FROM messages WHERE id = ?`).get(id);
      return r ? rowToMessage(r as Record<string, unknown>) : null;
    },
    getRaw(id) {
      const r = db.prepare("SELECT data FROM message_raw WHERE message_id = ?").get(id) as { data: Buffer } | undefined;
      return r ? r.data : null;
    },
    getSession(id) {
      const r = db.prepare("SELECT * FROM sessions WHERE id = ?").get(id);
      return r ? rowToSession(r as Record<string, unknown>) : null;
    },
    sourceCounts(since) {
      return db
        .prepare("SELECT src_ip AS srcIp, COUNT(*) AS messages, COALESCE(SUM(size), 0) AS bytes FROM messages WHERE received_at >= ? GROUP BY src_ip")
        .all(since) as SourceCount[];
    },
    countMessages() {
      return (db.prepare("SELECT COUNT(*) AS n FROM messages").get() as { n: number }).n;
    },
    all<T>(sql: string, ...params: unknown[]) {
      return db.prepare(sql).all(...params) as T[];
    },
    get<T>(sql: string, ...params: unknown[]) {
      return db.prepare(sql).get(...params) as T | undefined;
    },
    close() {
      db.close();
    },
  };
}
