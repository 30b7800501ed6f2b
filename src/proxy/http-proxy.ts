// The HTTP proxy state machine of one connection: absolute-URI requests (judge page or Squid's error page), CONNECT
// (answered by connect.ts), and plain HTTP inside a granted tunnel (answered as that origin); keep-alive and pipelining.
import { isIP } from "node:net";
import { formatHostPort } from "../net/address.js";
import { answerConnect, ephemeralPort } from "./connect.js";
import { createHeadReader, header, parseRequestTarget, type HeadReader, type HttpHead } from "./http.js";
import { isJudgeRequest, renderJudgePage, renderOrigin404 } from "./judge.js";
import type { SocksTarget } from "./socks.js";
import { CONNECT_ESTABLISHED, renderResponse, renderSquidError, squidResponseHeaders, SQUID_VERSION, type SquidErrorPage } from "./squid.js";
import type { ConnectReplies, ProxyConnection, ProxyInput } from "./types.js";

/** The HTTP CONNECT success reply, encoded once. */
const CONNECT_ESTABLISHED_BYTES = Buffer.from(CONNECT_ESTABLISHED, "latin1");
/** A Content-Length we read as a number; anything else is a body we cannot delimit. */
const CONTENT_LENGTH = /^\d{1,15}$/;

/** The origin a granted tunnel leads to: requests in it are answered as that server. */
export type Origin = Pick<SocksTarget, "host" | "port">;

/** Basic credentials from a Proxy-Authorization value; other schemes are recorded whole as the username. */
export function proxyCredentials(value: string): { method: string; username: string; password: string | null } {
  const m = /^(\S+)\s+(\S+)/.exec(value);
  if (!m) return { method: "unknown", username: value, password: null };
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "basic") return { method: scheme, username: m[2]!, password: null };
  const decoded = Buffer.from(m[2]!, "base64").toString("latin1");
  const colon = decoded.indexOf(":");
  return colon === -1
    ? { method: "basic", username: decoded, password: null }
    : { method: "basic", username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A Squid error page from this connection's listener. */
function squidError(conn: ProxyConnection, p: Omit<SquidErrorPage, "hostname" | "port" | "now">): Buffer {
  return renderSquidError({ ...p, hostname: conn.settings.hostname, port: conn.ctx.dest_port, now: Date.now() });
}

/** Squid's ERR_CONNECT_FAIL: refused (503), or timed out (504) as after its connect_timeout. */
function connectFail(conn: ProxyConnection, url: string, target: string, timedOut: boolean, head: boolean, keepAlive: boolean): Buffer {
  const sysmsg = timedOut ? "(110) Connection timed out" : "(111) Connection refused";
  return squidError(conn, { error: "ERR_CONNECT_FAIL", status: timedOut ? 504 : 503, url, target, sysmsg, head, keepAlive });
}

function connectReplies(conn: ProxyConnection): ConnectReplies {
  return {
    channel: "http-connect",
    success: () => CONNECT_ESTABLISHED_BYTES,
    failure: (timedOut, target, url) => connectFail(conn, url, target, timedOut, false, false),
    status: (ok) => (ok ? 200 : 503),
  };
}

/** A head that could not be read: Squid's 400 (in a tunnel, where no proxy would answer, a close). */
function onHeadError(conn: ProxyConnection, tunnel: Origin | null, reason: string): void {
  if (tunnel) return conn.endWith(null, `tunnel-not-http: ${reason}`);
  const tooBig = reason === "headers-too-large" || reason === "request-line-too-long" || reason === "too-many-headers";
  const reply = squidError(conn, { error: tooBig ? "ERR_TOO_BIG" : "ERR_INVALID_REQ", url: "", target: "", head: false, keepAlive: false, ...(tooBig ? { status: 400 } : {}) });
  conn.recording.request({ method: "?", target: "", host: null, port: null, headers: [], outcome: "error", status: 400, bodyBytes: 0 });
  conn.endWith(reply, `bad-request: ${reason}`);
}

/** An HTTP CONNECT (outside a tunnel): a bad authority gets Squid's 400, a good one goes to connect.ts. */
function onConnectHead(conn: ProxyConnection, h: HttpHead, rest: Buffer): void {
  const t = parseRequestTarget("CONNECT", h.target);
  if (t.kind !== "authority" || t.host === null || t.port === null) {
    conn.recording.request({ method: "CONNECT", target: h.target, host: null, port: null, headers: h.headers, outcome: "error", status: 400, bodyBytes: 0 });
    return conn.endWith(squidError(conn, { error: "ERR_INVALID_URL", url: h.target, target: h.target, head: false, keepAlive: false }), "bad-connect-target");
  }
  const family = isIP(t.host);
  const hostType = family === 6 ? "ipv6" : family === 4 ? "ipv4" : "domain";
  answerConnect(conn, { host: t.host, hostType, port: t.port }, connectReplies(conn), h.headers, rest);
}

/** Body length and whether the connection stays open after the answer. */
function requestShape(conn: ProxyConnection, h: HttpHead): { declared: number; keepAlive: boolean } {
  const L = conn.settings.limits;
  const connection = (header(h, "proxy-connection") ?? header(h, "connection") ?? "").toLowerCase();
  const te = header(h, "transfer-encoding");
  const cl = header(h, "content-length");
  const declared = cl !== undefined && CONTENT_LENGTH.test(cl) ? Number(cl) : 0;
  // A body we cannot delimit or will not read ends the connection after the answer.
  const bodyReadable = te === undefined && (cl === undefined || CONTENT_LENGTH.test(cl)) && declared <= L.maxBodyBytes;
  const keepAlive =
    bodyReadable &&
    conn.recording.requests + 1 < L.maxRequestsPerSession &&
    (h.version === "1.1" ? !connection.includes("close") : connection.includes("keep-alive"));
  return { declared, keepAlive };
}

/** The answer to one request other than CONNECT, recorded; null when the connection was closed or held instead. */
function answerRequest(conn: ProxyConnection, h: HttpHead, tunnel: Origin | null, declared: number, keepAlive: boolean): Buffer | null {
  const { settings: s, ctx } = conn;
  const record = conn.recording.request;
  const isHead = h.method === "HEAD";
  const now = Date.now();
  const t = parseRequestTarget(h.method, h.target);
  let host: string | null = t.host;
  let port: number | null = t.port;
  let url = h.target;
  if (tunnel) {
    // Inside a tunnel we play the origin server: origin-form paths, Host names the site.
    host = tunnel.host;
    port = tunnel.port;
    const hostHeader = header(h, "host");
    url = t.kind === "absolute" ? h.target : `http://${hostHeader ?? formatHostPort(host, port)}${t.path}`;
  }
  const base = { method: h.method, target: url, host, port, headers: h.headers, bodyBytes: declared };
  const connection: [string, string] = ["Connection", keepAlive ? "keep-alive" : "close"];
  if ((tunnel !== null || t.kind === "absolute") && isJudgeRequest(host, t.path, [...s.sensorIps, ctx.dest_ip])) {
    const page = renderJudgePage({
      method: h.method,
      path: t.path,
      headers: h.headers,
      remoteAddr: s.sensorIps[0] ?? ctx.dest_ip,
      remotePort: ephemeralPort(),
      via: tunnel ? null : `1.1 ${s.hostname} (${SQUID_VERSION})`,
      now,
    });
    const headers = tunnel ? [...page.headers, connection] : [...page.headers, ...squidResponseHeaders(s.hostname, ctx.dest_port, "MISS"), connection];
    const reply = renderResponse(200, headers, page.body, isHead);
    record({ ...base, outcome: "judge", status: 200 });
    return reply;
  }
  if (tunnel) {
    const page = renderOrigin404(now);
    const reply = renderResponse(404, [...page.headers, connection], page.body, isHead);
    record({ ...base, outcome: "generic", status: 404 });
    return reply;
  }
  if (t.kind !== "absolute") {
    record({ ...base, outcome: "error", status: 400 });
    conn.endWith(squidError(conn, { error: "ERR_INVALID_URL", url: h.target, target: h.target, head: isHead, keepAlive: false }), "bad-url");
    return null;
  }
  if (s.otherTargets === "close") {
    record({ ...base, outcome: "closed", status: null });
    conn.destroy("other-target-closed");
    return null;
  }
  if (s.otherTargets === "timeout") {
    record({ ...base, outcome: "timeout", status: 504 });
    conn.wait(() => conn.endWith(connectFail(conn, url, host ?? "", true, isHead, false), "other-target-timeout"));
    return null;
  }
  const reply = connectFail(conn, url, host ?? "", false, isHead, keepAlive);
  record({ ...base, outcome: "generic", status: 503 });
  return reply;
}

/** HTTP on a connection: proxy requests, or (tunnel set) requests to the origin of a granted tunnel. */
export function createHttpProxy(conn: ProxyConnection, tunnel: Origin | null): ProxyInput {
  let reader: HeadReader = createHeadReader(conn.settings.limits);
  let phase: "head" | "body" = "head";
  let bodyLeft = 0;

  function startHead(rest: Buffer): void {
    phase = "head";
    reader = createHeadReader(conn.settings.limits);
    if (rest.length > 0) push(rest);
  }

  function onHead(h: HttpHead, rest: Buffer): void {
    conn.disarmHandshake();
    const auth = header(h, "proxy-authorization");
    if (auth !== undefined && !tunnel) {
      const c = proxyCredentials(auth);
      conn.recording.auth(c.method, c.username, c.password);
    }
    // A CONNECT is answered without reading a body or keeping the request loop: none of the headers below matter.
    if (h.method === "CONNECT" && !tunnel) return onConnectHead(conn, h, rest);
    const { declared, keepAlive } = requestShape(conn, h);
    const reply = answerRequest(conn, h, tunnel, declared, keepAlive);
    if (reply === null) return;
    if (!keepAlive) return conn.endWith(reply, "answered");
    conn.send(reply);
    bodyLeft = declared;
    phase = "body";
    // Pipelined requests wait (unparsed, at most one read's worth) until the client takes its answers.
    if (conn.outPaused) conn.hold(rest);
    else if (rest.length > 0) push(rest);
    else if (bodyLeft === 0) startHead(Buffer.alloc(0));
  }

  function push(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      if (phase === "head") {
        conn.armHandshake();
        const r = reader.push(data);
        if (r.status === "more") return;
        if (r.status === "error") return onHeadError(conn, tunnel, r.reason);
        return onHead(r.head, reader.rest());
      }
      // The body of a kept-alive request is read and dropped.
      const n = Math.min(bodyLeft, data.length);
      bodyLeft -= n;
      data = data.subarray(n);
      if (bodyLeft === 0) return startHead(data);
    }
    if (phase === "body" && bodyLeft === 0) startHead(Buffer.alloc(0));
  }

  return push;
}
