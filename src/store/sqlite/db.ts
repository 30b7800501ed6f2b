// Opening the SQLite database: pragmas for durability, numbered migrations applied in a transaction, row mapping.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "./driver.js";
import type { EnvelopeKey, MessageRow, SessionRecord, StoredKind } from "../types.js";
import type { Confidence } from "../../analysis/types.js";

export type Db = import("better-sqlite3").Database;

export const DB_FILE = "relaytrap.db";
const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(join(dir, f), "utf8") }));
}

/** Opens the writer's connection: WAL, synchronous=FULL (a commit is on disk when it returns), migrations applied. */
export function openWriterDb(path: string, opts: { maxDatabaseBytes?: number } = {}): Db {
  const db = new Database(path);
  if ((db.pragma("user_version", { simple: true }) as number) === 0) {
    // Must precede the first table so freed pages can be given back to the file system after pruning.
    db.pragma("auto_vacuum = INCREMENTAL");
  }
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("journal_size_limit = 67108864");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  // The storage cap: past it an insert fails with SQLITE_FULL (the persona's 452). SQLite never sets it below the
  // pages already in use, so a lowered cap just stops growth; a raised one takes effect at the next start.
  if (opts.maxDatabaseBytes) {
    const pageSize = db.pragma("page_size", { simple: true }) as number;
    db.pragma(`max_page_count = ${Math.max(1, Math.floor(opts.maxDatabaseBytes / pageSize))}`);
  }
  return db;
}

/** SQLite result codes that mean the file itself is damaged (not a full disk, a lock or a permission). */
const DAMAGED_CODES = new Set(["SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_CORRUPT_VTAB", "SQLITE_CORRUPT_SEQUENCE", "SQLITE_CORRUPT_INDEX"]);

export function isDamaged(code: string | null | undefined): boolean {
  return code !== null && code !== undefined && (DAMAGED_CODES.has(code) || code.startsWith("SQLITE_CORRUPT"));
}

/** How to get going again with a damaged store, and keep what is readable (one line, for run and doctor). */
export function recoveryHint(path: string): string {
  const dir = dirname(path);
  const aside = join(dir, "damaged");
  return `move it aside (mkdir ${aside} && mv ${path}* ${aside}/): the next start creates a new store; then \`relaytrap export --data-dir ${aside}\` saves what is readable`;
}

/** One line naming the store file and SQLite's own error (message and code), with the way out when the file is damaged. */
export function describeStoreError(path: string, err: { message?: unknown; code?: unknown }): string {
  const code = typeof err.code === "string" ? err.code : null;
  const message = typeof err.message === "string" && err.message !== "" ? err.message : (code ?? "unknown error");
  return `store ${path}: ${message}${code && !message.includes(code) ? ` (${code})` : ""}${isDamaged(code) ? `: the file is damaged; ${recoveryHint(path)}` : ""}`;
}

export function migrate(db: Db, migrations = loadMigrations()): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

/** A read-only connection; safe alongside the running writer (WAL). */
export function openReaderDb(path: string): Db {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return db;
}

/** A JSON column's value, or `fallback` when it is NULL or not valid JSON. */
export function json<T>(s: unknown, fallback: T): T {
  if (typeof s !== "string") return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

/** The columns every view of a message shares: identity, peers, channel and envelope. */
export function messageEnvelope(r: Record<string, unknown>): Pick<MessageRow, EnvelopeKey> {
  return {
    id: r.id as number,
    queueId: r.queue_id as string,
    sessionId: r.session_id as string,
    receivedAt: r.received_at as number,
    srcIp: r.src_ip as string,
    srcPort: r.src_port as number,
    destIp: r.dest_ip as string,
    destPort: r.dest_port as number,
    channel: r.channel as string,
    helo: (r.helo as string | null) ?? null,
    mailFrom: (r.mail_from as string | null) ?? null,
    rcptTo: json<unknown[]>(r.rcpt_to, []).map(String),
  };
}

export function rowToMessage(r: Record<string, unknown>): MessageRow {
  return {
    ...messageEnvelope(r),
    subject: (r.subject as string | null) ?? null,
    fromHeader: (r.from_hdr as string | null) ?? null,
    toHeader: (r.to_hdr as string | null) ?? null,
    dateHeader: (r.date_hdr as string | null) ?? null,
    date: (r.date_iso as string | null) ?? null,
    messageIdHeader: (r.message_id_hdr as string | null) ?? null,
    size: r.size as number,
    sha256: r.sha256 as string,
    bodyStored: r.body_stored === 1,
    dropReason: (r.drop_reason as string | null) ?? null,
    kind: r.kind as StoredKind,
    verdict: json(r.verdict, null),
    confidence: (r.confidence as Confidence | null | undefined) ?? null,
    parseError: (r.parse_error as string | null) ?? null,
    attachments: json(r.attachments, []),
    headers: json(r.headers, []),
    hasHtml: r.has_html === null || r.has_html === undefined ? null : r.has_html === 1,
  };
}

export function rowToSession(r: Record<string, unknown>): SessionRecord {
  return {
    id: r.id as string,
    protocol: r.protocol as string,
    channel: r.channel as string,
    startedAt: r.started_at as number,
    endedAt: (r.ended_at as number | null) ?? (r.started_at as number),
    srcIp: r.src_ip as string,
    srcPort: r.src_port as number,
    destIp: r.dest_ip as string,
    destPort: r.dest_port as number,
    target: (r.target as string | null) ?? null,
    helo: (r.helo as string | null) ?? null,
    rdns: (r.rdns as string | null) ?? null,
    tls: json(r.tls, null),
    auth: json(r.auth, []),
    transcript: json(r.transcript, []),
    transcriptTruncated: r.transcript_truncated === 1,
    commands: r.commands as number,
    messages: r.messages as number,
    closeReason: (r.close_reason as string | null) ?? "",
  };
}

/** Summary columns (everything but the raw body and the search text). */
export const MESSAGE_COLUMNS =
  "id, queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, channel, helo, mail_from, rcpt_to, rcpt_count, subject, from_hdr, to_hdr, date_hdr, date_iso, message_id_hdr, size, sha256, body_stored, drop_reason, kind, verdict, parse_error, attachments, headers, has_html, confidence";
