// The recording of one proxy connection: its proxy.request / proxy.auth.attempt / proxy.session.closed events and its
// proxy_requests / proxy_sessions rows (through the ProxyRecorder). Recording never takes a connection down.
import type { EventId } from "../events/catalog.js";
import type { EventContext } from "../events/dispatcher.js";
import type { ProxyLimits } from "./limits.js";
import type { ProxyProtocol, ProxyRecorder, ProxyRequestRecord } from "./types.js";

/** Header names listed in a proxy.request event. */
const EVENT_HEADER_NAMES = 30;
/** Characters of one header value in a proxy.request event. */
const EVENT_HEADER_VALUE_CHARS = 200;
/** Characters of a request target in a proxy.request event. */
const EVENT_TARGET_CHARS = 2048;

/** One request as the protocol state machines report it; the recording adds the connection's fields. */
export type ProxyRequestFields = Omit<ProxyRequestRecord, "sessionId" | "at" | "srcIp" | "protocol">;

export interface ProxyRecordingOptions {
  ctx: EventContext;
  startedAt: number;
  /** The connection's protocol as sniffed so far. */
  protocol: () => ProxyProtocol;
  limits: ProxyLimits;
  emit(id: EventId, ctx: EventContext, fields?: Record<string, unknown>): void;
  recorder: ProxyRecorder;
}

export interface ProxyRecording {
  /** Requests recorded so far. */
  readonly requests: number;
  request(r: ProxyRequestFields): void;
  auth(method: string, username: string, password: string | null): void;
  /** The connection has closed: the session event and row (with the rows held back for it). */
  ended(end: { reason: string; diverted: boolean; bytesIn: number }): void;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) : s;
}

function headersSummary(headers: Array<[string, string]>): Record<string, unknown> {
  // One pass; the first Host and User-Agent count (the length test spares most names the lower-casing).
  let host: string | undefined;
  let ua: string | undefined;
  for (const [k, v] of headers) {
    if (host === undefined && k.length === 4 && k.toLowerCase() === "host") host = v;
    else if (ua === undefined && k.length === 10 && k.toLowerCase() === "user-agent") ua = v;
  }
  return {
    count: headers.length,
    names: headers.slice(0, EVENT_HEADER_NAMES).map(([k]) => k),
    host: host === undefined ? undefined : truncate(host, EVENT_HEADER_VALUE_CHARS),
    user_agent: ua === undefined ? undefined : truncate(ua, EVENT_HEADER_VALUE_CHARS),
  };
}

function boundedHeaders(headers: Array<[string, string]>, maxBytes: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let n = 0;
  for (const [k, v] of headers) {
    n += k.length + v.length + 4;
    if (n > maxBytes) break;
    out.push([k, v]);
  }
  return out;
}

export function createProxyRecording(o: ProxyRecordingOptions): ProxyRecording {
  const { ctx } = o;
  let requests = 0;
  let username: string | null = null;
  let password: string | null = null;
  let firstTarget: string | null = null;
  /** The request that handed the connection to the SMTP trap: stored with the session row when the connection ends. */
  const heldRequests: ProxyRequestRecord[] = [];

  return {
    get requests() {
      return requests;
    },
    request(r) {
      requests++;
      firstTarget ??= r.target;
      const protocol = o.protocol();
      const rec: ProxyRequestRecord = {
        sessionId: ctx.session,
        at: Date.now(),
        srcIp: ctx.src_ip,
        protocol,
        ...r,
        headers: boundedHeaders(r.headers, o.limits.maxStoredHeaderBytes),
      };
      o.emit("proxy.request", ctx, {
        proxy_protocol: protocol,
        method: r.method,
        target: truncate(r.target, EVENT_TARGET_CHARS),
        headers: r.headers.length ? headersSummary(r.headers) : undefined,
        outcome: r.outcome,
        status: r.status ?? undefined,
      });
      // Nothing follows a diversion on this connection but its end: one store request then writes both rows.
      if (r.outcome === "smtp-diverted") {
        heldRequests.push(rec);
        return;
      }
      try {
        o.recorder.request(rec);
      } catch {
        // Recording never takes the connection down.
      }
    },
    auth(method, user, pass) {
      if (username === null) (username = user), (password = pass);
      o.emit("proxy.auth.attempt", ctx, { proxy_protocol: o.protocol(), method, username: user, password: pass ?? undefined });
    },
    ended({ reason, diverted, bytesIn }) {
      const endedAt = Date.now();
      const protocol = o.protocol();
      o.emit("proxy.session.closed", ctx, { proxy_protocol: protocol, duration_ms: endedAt - o.startedAt, reason, requests, bytes_in: bytesIn });
      try {
        o.recorder.sessionEnded({
          id: ctx.session,
          protocol,
          startedAt: o.startedAt,
          endedAt,
          srcIp: ctx.src_ip,
          srcPort: ctx.src_port,
          destIp: ctx.dest_ip,
          destPort: ctx.dest_port,
          username,
          password,
          target: firstTarget,
          requests,
          divertedToSmtp: diverted,
          bytesIn,
          closeReason: reason,
          heldRequests,
        });
      } catch {
        // Recording never takes the sensor down.
      }
    },
  };
}
