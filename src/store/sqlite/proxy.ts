// SQL of the proxy trap's tables (migration 004): writes through the writer's exec (group commit), reads through the
// read-only connection.
import type { ProxyOutcome, ProxyProtocol, ProxyRequestRecord, ProxySessionRecord } from "../../proxy/types.js";
import type { StoreReader, StoreWriter } from "../types.js";
import { json } from "./db.js";

export const MAX_PROXY_LIST_LIMIT = 1000;

export interface ProxyRequestRow extends ProxyRequestRecord {
  id: number;
  /** The credentials its connection sent (SOCKS4 userid, SOCKS5 user/pass, Proxy-Authorization), from proxy_sessions:
   * null until the connection has ended, or when it sent none. */
  username?: string | null;
  password?: string | null;
}

export interface ProxyRequestFilter {
  sessionId?: string | undefined;
  srcIp?: string | undefined;
  outcome?: ProxyOutcome | undefined;
  protocol?: ProxyProtocol | undefined;
  since?: number | undefined;
  /** Only ids below this (cursor pagination, newest first). */
  before?: number | undefined;
  limit?: number | undefined;
}

export interface ProxySessionFilter {
  srcIp?: string | undefined;
  protocol?: ProxyProtocol | undefined;
  since?: number | undefined;
  /** Only sessions started before this time (cursor pagination, newest first). */
  before?: number | undefined;
  limit?: number | undefined;
}

const INSERT_REQUEST = `INSERT INTO proxy_requests (session_id, at, src_ip, protocol, method, target, host, port, headers, outcome,
  status, body_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const INSERT_SESSION = `INSERT OR REPLACE INTO proxy_sessions (id, protocol, started_at, ended_at, src_ip, src_port, dest_ip,
  dest_port, username, password, target, requests, diverted_to_smtp, bytes_in, close_reason)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** Nothing a client is told waits on a proxy row: they go with the next commit the writer makes anyway. */
const LAZY = { lazy: true };

function requestStatement(r: ProxyRequestRecord): { sql: string; params: unknown[] } {
  return {
    sql: INSERT_REQUEST,
    params: [r.sessionId, r.at, r.srcIp, r.protocol, r.method, r.target, r.host, r.port, JSON.stringify(r.headers), r.outcome, r.status, r.bodyBytes],
  };
}

export async function putProxyRequest(w: StoreWriter, r: ProxyRequestRecord): Promise<number> {
  const [res] = await w.exec([requestStatement(r)], LAZY);
  return res?.lastInsertRowid ?? 0;
}

/**
 * The session row, and in the same store request (one savepoint in one group commit) any request rows held back for
 * it (ProxySessionEnd.heldRequests).
 */
export async function putProxySession(w: StoreWriter, s: ProxySessionRecord & { heldRequests?: readonly ProxyRequestRecord[] }): Promise<void> {
  const statements = (s.heldRequests ?? []).map(requestStatement);
  statements.push({
    sql: INSERT_SESSION,
    params: [
      s.id, s.protocol, s.startedAt, s.endedAt, s.srcIp, s.srcPort, s.destIp, s.destPort, s.username, s.password, s.target,
      s.requests, s.divertedToSmtp ? 1 : 0, s.bytesIn, s.closeReason,
    ],
  });
  await w.exec(statements, LAZY);
}

function rowToRequest(r: Record<string, unknown>): ProxyRequestRow {
  return {
    id: r.id as number,
    sessionId: r.session_id as string,
    at: r.at as number,
    srcIp: r.src_ip as string,
    protocol: r.protocol as ProxyProtocol,
    method: r.method as string,
    target: r.target as string,
    host: (r.host as string | null) ?? null,
    port: (r.port as number | null) ?? null,
    headers: json<Array<[string, string]>>(r.headers, []),
    outcome: r.outcome as ProxyOutcome,
    status: (r.status as number | null) ?? null,
    bodyBytes: (r.body_bytes as number | null) ?? 0,
    ...(r.session_username === undefined ? {} : { username: (r.session_username as string | null) ?? null, password: (r.session_password as string | null) ?? null }),
  };
}

function rowToSession(r: Record<string, unknown>): ProxySessionRecord {
  return {
    id: r.id as string,
    protocol: r.protocol as ProxyProtocol,
    startedAt: r.started_at as number,
    endedAt: (r.ended_at as number | null) ?? 0,
    srcIp: r.src_ip as string,
    srcPort: r.src_port as number,
    destIp: r.dest_ip as string,
    destPort: r.dest_port as number,
    username: (r.username as string | null) ?? null,
    password: (r.password as string | null) ?? null,
    target: (r.target as string | null) ?? null,
    requests: r.requests as number,
    divertedToSmtp: r.diverted_to_smtp === 1,
    bytesIn: r.bytes_in as number,
    closeReason: (r.close_reason as string | null) ?? "",
  };
}

function limitOf(n: number | undefined): number {
  return Math.min(Math.max(1, n ?? 100), MAX_PROXY_LIST_LIMIT);
}

/** Newest first. */
export function listProxyRequests(reader: StoreReader, f: ProxyRequestFilter = {}): ProxyRequestRow[] {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.sessionId !== undefined) (clauses.push("r.session_id = ?"), params.push(f.sessionId));
  if (f.srcIp !== undefined) (clauses.push("r.src_ip = ?"), params.push(f.srcIp));
  if (f.outcome !== undefined) (clauses.push("r.outcome = ?"), params.push(f.outcome));
  if (f.protocol !== undefined) (clauses.push("r.protocol = ?"), params.push(f.protocol));
  if (f.since !== undefined) (clauses.push("r.at >= ?"), params.push(f.since));
  if (f.before !== undefined) (clauses.push("r.id < ?"), params.push(f.before));
  const where = clauses.length ? "WHERE " + clauses.join(" AND ") : "";
  // The credentials are the connection's (proxy_sessions, by its primary key): one look-up per row of the page.
  return reader
    .all<Record<string, unknown>>(
      `SELECT r.*, s.username AS session_username, s.password AS session_password FROM proxy_requests r
         LEFT JOIN proxy_sessions s ON s.id = r.session_id ${where} ORDER BY r.id DESC LIMIT ?`,
      ...params,
      limitOf(f.limit),
    )
    .map(rowToRequest);
}

/** Newest first. */
export function listProxySessions(reader: StoreReader, f: ProxySessionFilter = {}): ProxySessionRecord[] {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (f.srcIp !== undefined) (clauses.push("src_ip = ?"), params.push(f.srcIp));
  if (f.protocol !== undefined) (clauses.push("protocol = ?"), params.push(f.protocol));
  if (f.since !== undefined) (clauses.push("started_at >= ?"), params.push(f.since));
  if (f.before !== undefined) (clauses.push("started_at < ?"), params.push(f.before));
  const where = clauses.length ? "WHERE " + clauses.join(" AND ") : "";
  return reader
    .all<Record<string, unknown>>(`SELECT * FROM proxy_sessions ${where} ORDER BY started_at DESC LIMIT ?`, ...params, limitOf(f.limit))
    .map(rowToSession);
}

export function getProxySession(reader: StoreReader, id: string): ProxySessionRecord | null {
  const r = reader.get<Record<string, unknown>>("SELECT * FROM proxy_sessions WHERE id = ?", id);
  return r ? rowToSession(r) : null;
}

/** Requests per outcome since a time (for stats series). */
export function proxyRequestCounts(reader: StoreReader, since: number): Array<{ outcome: ProxyOutcome; requests: number }> {
  return reader.all("SELECT outcome, COUNT(*) AS requests FROM proxy_requests WHERE at >= ? GROUP BY outcome", since);
}
