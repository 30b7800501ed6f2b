// Read queries behind the web API and UI (lists with full-text search, stats buckets, sources, dropboxes), and the
// look-ups the importer needs. SQL stays here; callers get plain typed rows.
import type { MessageSummary, StoredKind, StoreReader } from "../types.js";
import { fillBuckets, type Bucket } from "../buckets.js";

export { MAX_BUCKETS, type Bucket } from "../buckets.js";
export type { MessageSummary } from "../types.js";

export const MAX_WEB_LIMIT = 500;

export interface WebMessageFilter {
  kind?: StoredKind | undefined;
  srcIp?: string | undefined;
  /** "direct", or the proxy channel a message came through (http-connect, socks4, socks5). */
  channel?: string | undefined;
  dropbox?: string | undefined;
  sessionId?: string | undefined;
  q?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** The keyset cursor of the page before (cursorOf's values for the last row shown). */
  after?: CursorValues | undefined;
  sort?: MessageSort | undefined;
  order?: "asc" | "desc" | undefined;
  limit: number;
}

/** Columns a message list can be sorted by; each sorts by these columns and then id, and has an index that ends so. */
export const MESSAGE_SORTS = {
  received: ["received_at"],
  size: ["size"],
  source: ["src_ip", "received_at"],
} as const satisfies Record<string, readonly string[]>;
export type MessageSort = keyof typeof MESSAGE_SORTS;
export type CursorValues = Array<string | number>;

/** Matches counted at most for a list's total (COUNT over an index range: ~10 ms per 100k rows). */
export const MAX_COUNTED = 100_000;

const SUMMARY_COLUMNS = "id, received_at, src_ip, mail_from, rcpt_to, subject, kind, size, session_id, body_stored, channel, confidence";
/** The verdict fields the relay-test list shows, read from its JSON for the rows of one page only. */
const VERDICT_COLUMNS = `json_extract(messages.verdict, '$.testedIps') AS tested_ips, json_extract(messages.verdict, '$.matchesSensor') AS matches_sensor,
  json_extract(messages.verdict, '$.tester') AS tester, json_extract(messages.verdict, '$.score') AS score,
  COALESCE(json_array_length(messages.verdict, '$.dropboxes'), 0) AS dropbox_count`;

const SORT_ROW_KEYS: Record<string, keyof MessageSummary> = { received_at: "receivedAt", size: "size", src_ip: "srcIp" };

/** The cursor values of a row under a sort: its sort columns, then its id. */
export function cursorOf(m: MessageSummary, sort: MessageSort = "received"): CursorValues {
  return [...MESSAGE_SORTS[sort].map((c) => m[SORT_ROW_KEYS[c]!] as string | number), m.id];
}

/** An opaque cursor (base64url of the values) for the `next` of a page. */
export function encodeCursor(values: CursorValues): string {
  return Buffer.from(JSON.stringify(values)).toString("base64url");
}

/** The values of a cursor made by encodeCursor for this sort, or null when it is not one. */
export function decodeCursor(s: string, sort: MessageSort = "received"): CursorValues | null {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const cols = MESSAGE_SORTS[sort];
  if (!Array.isArray(v) || v.length !== cols.length + 1) return null;
  const ok = v.every((x, i) => (i < cols.length && cols[i] === "src_ip" ? typeof x === "string" && x.length <= 64 : Number.isSafeInteger(x)));
  return ok ? (v as CursorValues) : null;
}

/** A JSON array column as strings; anything else (NULL, bad JSON) is empty. */
export function parseJsonArray(s: unknown): string[] {
  if (typeof s !== "string") return [];
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) ? v.map(String) : [];
  } catch {
    return [];
  }
}

function toSummary(r: Record<string, unknown>): MessageSummary {
  return {
    id: r.id as number,
    receivedAt: r.received_at as number,
    srcIp: r.src_ip as string,
    mailFrom: (r.mail_from as string | null) ?? null,
    rcptTo: parseJsonArray(r.rcpt_to),
    subject: (r.subject as string | null) ?? null,
    kind: r.kind as StoredKind,
    size: r.size as number,
    sessionId: r.session_id as string,
    bodyStored: r.body_stored === 1,
    channel: (r.channel as string | undefined) ?? "direct",
    confidence: (r.confidence as MessageSummary["confidence"] | undefined) ?? null,
    ...(r.dropbox_count === undefined
      ? {}
      : {
          testedIps: parseJsonArray(r.tested_ips),
          matchesSensor: r.matches_sensor === null || r.matches_sensor === undefined ? null : r.matches_sensor === 1,
          tester: (r.tester as string | null) ?? null,
          score: (r.score as number | null) ?? null,
          dropboxCount: r.dropbox_count as number,
        }),
  };
}

/**
 * Turns free text into an FTS5 query that cannot be a syntax error: every whitespace-separated word becomes a quoted
 * prefix phrase ("foo"*), all of them required. Returns null when nothing searchable is left.
 */
export function ftsQuery(q: string): string | null {
  const words = q
    .split(/\s+/)
    .map((w) => w.replace(/[\u0000-\u001f"]/g, " ").trim())
    .filter((w) => /[\p{L}\p{N}]/u.test(w))
    .slice(0, 16);
  if (words.length === 0) return null;
  return words.map((w) => `"${w}"*`).join(" ");
}

interface MessageQuery {
  from: string;
  where: string;
  params: unknown[];
}

/** FROM and WHERE of a message list (null: a search with nothing searchable in it, so no rows). */
function messageQuery(f: WebMessageFilter): MessageQuery | null {
  const clauses: string[] = [];
  let from = "messages";
  const params: unknown[] = [];
  if (f.kind !== undefined) (clauses.push("messages.kind = ?"), params.push(f.kind));
  if (f.srcIp !== undefined) (clauses.push("messages.src_ip = ?"), params.push(f.srcIp));
  if (f.channel !== undefined) (clauses.push("messages.channel = ?"), params.push(f.channel));
  if (f.sessionId !== undefined) (clauses.push("messages.session_id = ?"), params.push(f.sessionId));
  if (f.since !== undefined) (clauses.push("messages.received_at >= ?"), params.push(f.since));
  if (f.until !== undefined) (clauses.push("messages.received_at < ?"), params.push(f.until));
  if (f.q !== undefined) {
    const match = ftsQuery(f.q);
    if (match === null) return null;
    // FTS5 finds the matches; they are then sorted by the list's order (a common word over 1M messages sorts all of
    // its matches: the price of a list in received order rather than insertion order).
    from = "messages_fts JOIN messages ON messages.id = messages_fts.rowid";
    clauses.push("messages_fts MATCH ?");
    params.push(match);
    if (f.dropbox !== undefined) {
      clauses.push("EXISTS (SELECT 1 FROM message_dropboxes d WHERE d.address = lower(?) AND d.message_id = messages.id)");
      params.push(f.dropbox);
    }
  } else if (f.dropbox !== undefined) {
    // message_dropboxes (migration 009) drives: one dropbox's messages, sorted (even the busiest is a few thousand).
    from = "message_dropboxes CROSS JOIN messages ON messages.id = message_dropboxes.message_id";
    clauses.push("message_dropboxes.address = lower(?)");
    params.push(f.dropbox);
  }
  return { from, where: clauses.length ? "WHERE " + clauses.join(" AND ") : "", params };
}

/**
 * A page of messages, newest received first by default (then by id), or sorted by size or source; `after` is the
 * keyset cursor of the previous page (cursorOf its last row). Every sort walks an index that ends in its columns and
 * the rowid (migrations 001, 013), so a page costs `limit` rows however many match.
 */
export function searchMessages(r: StoreReader, f: WebMessageFilter): MessageSummary[] {
  const mq = messageQuery(f);
  if (mq === null) return [];
  const sort = f.sort ?? "received";
  const dir = f.order === "asc" ? "ASC" : "DESC";
  const keys = [...MESSAGE_SORTS[sort].map((c) => `messages.${c}`), "messages.id"];
  let where = mq.where;
  const params = [...mq.params];
  if (f.after !== undefined && f.after.length === keys.length) {
    where += `${where ? " AND" : "WHERE"} (${keys.join(", ")}) ${dir === "DESC" ? "<" : ">"} (${keys.map(() => "?").join(", ")})`;
    params.push(...f.after);
  }
  const limit = Math.min(Math.max(1, f.limit), MAX_WEB_LIMIT);
  const columns = SUMMARY_COLUMNS.split(", ").map((c) => `messages.${c}`).join(", ") + ", " + VERDICT_COLUMNS;
  return r
    .all<Record<string, unknown>>(`SELECT ${columns} FROM ${mq.from} ${where} ORDER BY ${keys.map((k) => `${k} ${dir}`).join(", ")} LIMIT ?`, ...params, limit)
    .map(toSummary);
}

/** The list rows of these messages (at most MAX_WEB_LIMIT), newest received first: a campaign's page. */
export function messageSummaries(r: StoreReader, ids: readonly number[]): MessageSummary[] {
  const some = ids.slice(0, MAX_WEB_LIMIT);
  if (some.length === 0) return [];
  const columns = SUMMARY_COLUMNS.split(", ").map((c) => `messages.${c}`).join(", ") + ", " + VERDICT_COLUMNS;
  return r
    .all<Record<string, unknown>>(`SELECT ${columns} FROM messages WHERE id IN (${some.map(() => "?").join(", ")}) ORDER BY received_at DESC, id DESC`, ...some)
    .map(toSummary);
}

/** How many messages a filter matches, counted up to MAX_COUNTED (capped: true when there are more). The unfiltered
 * and kind-only totals come from the store's counters (migration 009). */
export function countMessages(r: StoreReader, f: Omit<WebMessageFilter, "limit" | "after" | "sort" | "order">): { total: number; capped: boolean } {
  const only = Object.entries(f).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (only.length === 0 || (only.length === 1 && only[0] === "kind" && f.kind !== "unknown")) {
    const t = totals(r);
    const n = f.kind === undefined ? t.messages : f.kind === "relay-test" ? t.relayTests : f.kind === "spam" ? t.spam : t.other;
    return { total: n, capped: false };
  }
  const mq = messageQuery(f as WebMessageFilter);
  if (mq === null) return { total: 0, capped: false };
  const n = r.get<{ n: number }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${mq.from} ${mq.where} LIMIT ?)`, ...mq.params, MAX_COUNTED + 1)!.n;
  return { total: Math.min(n, MAX_COUNTED), capped: n > MAX_COUNTED };
}

export function messageTextBody(r: StoreReader, id: number): string | null {
  return r.get<{ text_body: string | null }>("SELECT text_body FROM messages WHERE id = ?", id)?.text_body ?? null;
}

/** The same buckets over attempt_days.day ('YYYY-MM-DD'). */
const BUCKET_EXPR_DAY: Record<Bucket, string> = {
  day: "day",
  week: "date(day, 'weekday 0', '-6 days')",
  month: "date(day, 'start of month')",
};

export interface AttemptBucket {
  start: string;
  sessions: number;
  messages: number;
  relayTests: number;
  /** Requests to the open-proxy trap. */
  proxyRequests: number;
}

/** Sessions, messages and relay tests per UTC day / ISO week / month, aggregated in SQL; empty buckets filled in. */
export function attemptStats(r: StoreReader, bucket: Bucket, since: number, until: number): AttemptBucket[] {
  // attempt_days (migration 007) holds one row per UTC day; days are bucketed further here.
  const start = BUCKET_EXPR_DAY[bucket];
  const rows = r.all<AttemptBucket>(
    `SELECT ${start} AS start, SUM(sessions) AS sessions, SUM(messages) AS messages, SUM(relay_tests) AS relayTests,
       SUM(proxy_requests) AS proxyRequests
       FROM attempt_days WHERE day >= date(? / 1000, 'unixepoch') AND day <= date((? - 1) / 1000, 'unixepoch')
       GROUP BY 1 ORDER BY 1`,
    since,
    until,
  );
  return fillBuckets(
    rows.map((x): [string, AttemptBucket] => [x.start, x]),
    bucket,
    until,
    (start, row) => ({
      start,
      sessions: row?.sessions ?? 0,
      messages: row?.messages ?? 0,
      relayTests: row?.relayTests ?? 0,
      proxyRequests: row?.proxyRequests ?? 0,
    }),
  );
}

export interface Totals {
  sessions: number;
  messages: number;
  relayTests: number;
  spam: number;
  other: number;
  bytes: number;
  sources: number;
}

/**
 * Sessions, messages by kind, bytes and distinct source addresses stored. All time (no `since`): the one row of
 * store_totals, kept by triggers (migration 009) and equal to a COUNT over the tables. Since a time: counted over the
 * rows in range (the dashboard asks for the last 24 hours, a few thousand rows by the time indexes).
 */
export function totals(r: StoreReader, since?: number): Totals {
  if (since === undefined) {
    return r.get<Totals>("SELECT sessions, messages, relay_tests AS relayTests, spam, other, bytes, sources FROM store_totals")!;
  }
  const m = r.get<Omit<Totals, "sessions">>(
    `SELECT COUNT(*) AS messages, COALESCE(SUM(kind = 'relay-test'), 0) AS relayTests, COALESCE(SUM(kind = 'spam'), 0) AS spam,
       COALESCE(SUM(kind = 'other'), 0) AS other, COALESCE(SUM(size), 0) AS bytes, 0 AS sources
     FROM messages WHERE received_at >= ?`,
    since,
  )!;
  const sessions = r.get<{ n: number }>("SELECT COUNT(*) AS n FROM sessions WHERE started_at >= ?", since)!.n;
  // UNION ALL + COUNT(DISTINCT): with a plain UNION the planner merged both tables' whole src_ip indexes (140 ms at 1M
  // messages) instead of reading the day's rows by time.
  const sources = r.get<{ n: number }>(
    "SELECT COUNT(DISTINCT ip) AS n FROM (SELECT src_ip AS ip FROM sessions WHERE started_at >= ? UNION ALL SELECT src_ip FROM messages WHERE received_at >= ?)",
    since,
    since,
  )!.n;
  return { ...m, sessions, sources };
}

export interface SourceSummary {
  ip: string;
  sessions: number;
  messages: number;
  relayTests: number;
  lastSeen: number;
}

/**
 * The busiest sources since a time. O(rows in range): the rows are read by time and grouped once (grouping each table
 * by src_ip first made the planner walk both whole src_ip indexes); a month at 1M messages still takes ~200 ms, so
 * the dashboard reuses the answer for a while (TOP_SOURCES_TTL_MS in web/routes/stats.ts).
 */
export function topSources(r: StoreReader, since: number, limit: number): SourceSummary[] {
  return r.all<SourceSummary>(
    `SELECT ip, SUM(s) AS sessions, SUM(m) AS messages, SUM(t) AS relayTests, MAX(last) AS lastSeen FROM (
       SELECT src_ip AS ip, 1 AS s, 0 AS m, 0 AS t, started_at AS last FROM sessions WHERE started_at >= ?
       UNION ALL
       SELECT src_ip, 0, 1, kind = 'relay-test', received_at FROM messages WHERE received_at >= ?
     ) GROUP BY ip ORDER BY sessions + messages DESC, ip LIMIT ?`,
    since,
    since,
    limit,
  );
}

export interface SessionSummary {
  id: string;
  startedAt: number;
  endedAt: number | null;
  protocol: string;
  channel: string;
  helo: string | null;
  rdns: string | null;
  commands: number;
  messages: number;
  closeReason: string | null;
}

export interface SourceTimeline {
  ip: string;
  firstSeen: number | null;
  lastSeen: number | null;
  sessionCount: number;
  messageCount: number;
  relayTestCount: number;
  sessions: SessionSummary[];
  messages: MessageSummary[];
}

export function sourceTimeline(r: StoreReader, ip: string, limit: number): SourceTimeline {
  const s = r.get<{ n: number; first: number | null; last: number | null }>(
    "SELECT COUNT(*) AS n, MIN(started_at) AS first, MAX(started_at) AS last FROM sessions WHERE src_ip = ?",
    ip,
  )!;
  const m = r.get<{ n: number; t: number | null; first: number | null; last: number | null }>(
    "SELECT COUNT(*) AS n, SUM(kind = 'relay-test') AS t, MIN(received_at) AS first, MAX(received_at) AS last FROM messages WHERE src_ip = ?",
    ip,
  )!;
  const mins = [s.first, m.first].filter((x): x is number => x !== null);
  const maxs = [s.last, m.last].filter((x): x is number => x !== null);
  const sessions = r.all<SessionSummary>(
    `SELECT id, started_at AS startedAt, ended_at AS endedAt, protocol, channel, helo, rdns, commands, messages,
       close_reason AS closeReason FROM sessions WHERE src_ip = ? ORDER BY started_at DESC LIMIT ?`,
    ip,
    limit,
  );
  return {
    ip,
    firstSeen: mins.length ? Math.min(...mins) : null,
    lastSeen: maxs.length ? Math.max(...maxs) : null,
    sessionCount: s.n,
    messageCount: m.n,
    relayTestCount: m.t ?? 0,
    sessions,
    messages: searchMessages(r, { srcIp: ip, limit }),
  };
}

export interface DropboxSummary {
  address: string;
  tests: number;
  sources: number;
  firstSeen: number;
  lastSeen: number;
  tester: string | null;
  /** "relay-test": named by relay tests; "recurring": a recipient that keeps coming back in spam runs (table only). */
  kind: "relay-test" | "recurring";
}

export function tableExists(r: StoreReader, name: string): boolean {
  return r.get<{ n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?", name)!.n > 0;
}

/**
 * Dropbox addresses named by the verdicts of stored relay tests, most tests first: read from verdict_dropboxes, kept by
 * triggers (migration 009) instead of a json_each over every relay-test verdict (80,000 of them at 1M messages).
 * tests and sources count the stored messages; firstSeen/lastSeen are history (pruning does not move them).
 */
export function derivedDropboxes(r: StoreReader, limit: number): DropboxSummary[] {
  return r.all<DropboxSummary>(
    `SELECT address, tests, (SELECT COUNT(*) FROM verdict_dropbox_sources s WHERE s.address = v.address) AS sources,
       first_seen AS firstSeen, last_seen AS lastSeen, NULL AS tester, 'relay-test' AS kind
     FROM verdict_dropboxes v ORDER BY tests DESC, address LIMIT ?`,
    limit,
  );
}

/**
 * Dropboxes: the `dropboxes` table (migration 003, kept by the delivery side) when it exists, completed with addresses
 * only the stored verdicts name (imported or older messages); most tests first.
 */
export function listDropboxes(r: StoreReader, limit: number): { source: "table" | "verdicts"; items: DropboxSummary[] } {
  const derived = derivedDropboxes(r, limit);
  if (!tableExists(r, "dropboxes")) return { source: "verdicts", items: derived };
  const rows = r.all<DropboxSummary>(
    `SELECT address, tests, distinct_sources AS sources, first_seen AS firstSeen, last_seen AS lastSeen, tester, source AS kind
     FROM dropboxes ORDER BY (source = 'relay-test') DESC, tests DESC, last_seen DESC LIMIT ?`,
    limit,
  );
  const have = new Set(rows.map((x) => x.address.toLowerCase()));
  const items = [...rows, ...derived.filter((d) => !have.has(d.address))];
  items.sort((a, b) => (a.kind === b.kind ? b.tests - a.tests : a.kind === "relay-test" ? -1 : 1));
  return { source: "table", items: items.slice(0, limit) };
}

/** Whether a message with these exact bytes is already stored (import idempotence). */
export function hasSha256(r: StoreReader, sha256: string): boolean {
  return r.get<{ one: number }>("SELECT 1 AS one FROM messages WHERE sha256 = ? LIMIT 1", sha256) !== undefined;
}
