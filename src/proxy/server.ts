// The proxy trap: one listener serves HTTP proxy and SOCKS4/4a/5 (told apart by the first byte). Nothing is ever
// forwarded and no requested name is ever resolved: mail ports are handed to the SMTP trap in-process, judge URLs get a
// synthesized page, everything else a Squid-like answer, a timeout or a close (proxy.otherTargets).
import { randomInt } from "node:crypto";
import { createServer, isIP, type Server, type Socket } from "node:net";
import type { EventId } from "../events/catalog.js";
import type { EventContext } from "../events/dispatcher.js";
import { sessionId } from "../events/session-id.js";
import { formatHostPort, listenOn, normalizeIp } from "../net/address.js";
import { LISTEN_BACKLOG, type BoundListener, type HandOff } from "../smtp/server.js";
import { createHeadReader, header, parseRequestTarget, type HeadReader, type HttpHead } from "./http.js";
import { isJudgeRequest, renderJudgePage, renderOrigin404 } from "./judge.js";
import type { ProxyLimits } from "./limits.js";
import { sniffProtocol } from "./sniff.js";
import {
  createSocks4Machine,
  createSocks5Machine,
  socks4Reply,
  socks5Reply,
  SOCKS4_GRANTED,
  SOCKS4_REJECTED,
  SOCKS5_REP,
  type SocksAction,
  type SocksMachine,
  type SocksTarget,
} from "./socks.js";
import { CONNECT_ESTABLISHED, renderResponse, renderSquidError, squidResponseHeaders, SQUID_VERSION, type SquidError } from "./squid.js";
import type { ProxyOutcome, ProxyProtocol, ProxyRecorder, ProxyRequestRecord } from "./types.js";

export type OtherTargets = "generic" | "timeout" | "close";

export interface ProxyTrapOptions {
  /** Where mail-port tunnels go: the SMTP trap, in-process. */
  smtp: { handleSocket(socket: Socket, handOff: HandOff): void };
  /** Squid's visible_hostname (Via, X-Cache, error pages). */
  hostname: string;
  /** Public addresses of the sensor: a URL naming one is a proxy test; the first is the judge's REMOTE_ADDR. */
  sensorIps: readonly string[];
  mailPorts: readonly number[];
  /** Mail ports whose tunnel starts with TLS (SMTPS). */
  implicitTlsPorts: readonly number[];
  otherTargets: OtherTargets;
  limits: ProxyLimits;
  emit(id: EventId, ctx: EventContext, fields?: Record<string, unknown>): void;
  recorder: ProxyRecorder;
}

export interface ProxyTrap {
  listen(hostPort: string): Promise<BoundListener>;
  readonly activeSessions: number;
  /** The most unsent answer bytes one connection not handed to the SMTP trap holds (tests bound it). */
  readonly maxBufferedBytes: number;
  /** Stops accepting and ends every proxy connection not handed to the SMTP trap (the SMTP trap closes those). */
  close(): Promise<void>;
}

/** How long a connection we ended with a reply may linger for the reply to drain. */
const END_LINGER_MS = 2000;
/** Header names listed in a proxy.request event. */
const EVENT_HEADER_NAMES = 30;
/** Characters of one header value in a proxy.request event. */
const EVENT_HEADER_VALUE_CHARS = 200;

/** How often, under stress, connections are checked against stressIdleTimeoutMs (at most; a quarter of it if less). */
const STRESS_SWEEP_MS = 1000;

/** A live connection, as close(), the stress sweep and eviction see it. */
interface Conn {
  socket: Socket;
  srcIp: string;
  diverted: () => boolean;
  /** Date.now() of the last bytes from the client. */
  lastActive: number;
  /** Closes the connection (eviction, stress timeout) with this reason. */
  expire: (reason: string) => void;
  /** Set by close() when it waits for this connection to end. */
  onClosed: (() => void) | null;
}

type Phase = "sniff" | "socks" | "http-head" | "http-body" | "waiting" | "diverted" | "closed";
type Channel = "http-connect" | "socks4" | "socks5";

const SAFE_GREETING_HOST = /^[A-Za-z0-9.:-]{1,253}$/;

/** The HTTP CONNECT success reply, encoded once. */
const CONNECT_ESTABLISHED_BYTES = Buffer.from(CONNECT_ESTABLISHED, "latin1");

function ephemeralPort(): number {
  return randomInt(32768, 61000);
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

/** Basic credentials from a Proxy-Authorization value; other schemes are recorded whole as the username. */
function proxyCredentials(value: string): { method: string; username: string; password: string | null } {
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

export function createProxyTrap(o: ProxyTrapOptions): ProxyTrap {
  const L = o.limits;
  const servers: Server[] = [];
  const conns = new Map<Socket, Conn>();
  /** Live connections by client address (the per-IP limit, and eviction's most-connected source). */
  const perIp = new Map<string, Set<Conn>>();
  const stressAt = Math.max(1, Math.ceil((L.maxSessions * L.stressHighWaterPercent) / 100));
  let sweeper: NodeJS.Timeout | null = null;
  let closing = false;

  /** Takes a connection out of the counts (at its close, or when evicted). */
  function release(c: Conn): void {
    if (!conns.delete(c.socket)) return;
    const set = perIp.get(c.srcIp);
    set?.delete(c);
    if (set?.size === 0) perIp.delete(c.srcIp);
  }

  /** Full: the longest-idle connection (not one handed to the SMTP trap) of the most-connected source makes room. */
  function evictOne(): boolean {
    const bySize = [...perIp.values()].sort((a, b) => b.size - a.size);
    for (const set of bySize) {
      let victim: Conn | null = null;
      for (const c of set) if (!c.diverted() && (victim === null || c.lastActive < victim.lastActive)) victim = c;
      if (victim === null) continue;
      release(victim);
      victim.expire("stress-evicted");
      return true;
    }
    return false;
  }

  function sweep(): void {
    if (conns.size < stressAt || closing) {
      if (sweeper) clearInterval(sweeper);
      sweeper = null;
      return;
    }
    const cutoff = Date.now() - L.stressIdleTimeoutMs;
    for (const c of [...conns.values()]) {
      if (c.diverted() || c.lastActive >= cutoff) continue;
      release(c);
      c.expire("stress-idle-timeout");
    }
  }

  function serve(socket: Socket, listenPort: number): void {
    socket.on("error", () => {});
    const srcIp = normalizeIp(socket.remoteAddress);
    if (closing || (perIp.get(srcIp)?.size ?? 0) >= L.maxSessionsPerIp || (conns.size >= L.maxSessions && !evictOne())) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const id = sessionId();
    const startedAt = Date.now();
    const destIp = normalizeIp(socket.localAddress);
    const ctx: EventContext = {
      session: id,
      protocol: "proxy",
      src_ip: srcIp,
      src_port: socket.remotePort ?? 0,
      dest_ip: destIp,
      dest_port: socket.localPort ?? listenPort,
    };

    let phase: Phase = "sniff";
    let protocol: ProxyProtocol = "unknown";
    let socks: SocksMachine | null = null;
    let reader: HeadReader | null = null;
    /** Set once a CONNECT to a non-mail port was granted: HTTP in the tunnel is answered as that origin. */
    let tunnel: { host: string; port: number } | null = null;
    let bodyLeft = 0;
    let requests = 0;
    let bytesIn = 0;
    let username: string | null = null;
    let password: string | null = null;
    let firstTarget: string | null = null;
    let diverted = false;
    /** The request that handed the connection to the SMTP trap: stored with the session row when the connection ends. */
    const heldRequests: ProxyRequestRecord[] = [];
    let closeReason = "client-closed";
    let handshakeTimer: NodeJS.Timeout | null = null;
    let waitTimer: NodeJS.Timeout | null = null;
    /** Reading stopped because the client has not taken maxPendingOutputBytes of answers; `held` is fed on drain. */
    let outPaused = false;
    let held: Buffer | null = null;
    const sessionTimer = setTimeout(() => destroy("session-timeout"), L.sessionTimeoutMs);

    const armHandshake = () => {
      if (handshakeTimer === null) handshakeTimer = setTimeout(() => destroy("handshake-timeout"), L.handshakeTimeoutMs);
    };
    const disarmHandshake = () => {
      if (handshakeTimer) clearTimeout(handshakeTimer);
      handshakeTimer = null;
    };
    const clearTimers = () => {
      disarmHandshake();
      if (waitTimer) clearTimeout(waitTimer);
      waitTimer = null;
      clearTimeout(sessionTimer);
    };

    function destroy(reason: string): void {
      if (phase === "closed" || phase === "diverted") return;
      closeReason = reason;
      phase = "closed";
      socket.destroy();
    }

    function endWith(data: Buffer | string | null, reason: string): void {
      if (phase === "closed" || phase === "diverted") return;
      closeReason = reason;
      phase = "closed";
      if (data !== null) socket.end(data);
      else socket.end();
      setTimeout(() => socket.destroy(), END_LINGER_MS).unref();
    }

    /** Writes an answer; past maxPendingOutputBytes unsent, stops reading until the client takes it. */
    function send(data: Buffer): void {
      socket.write(data);
      if (!outPaused && socket.writableLength > L.maxPendingOutputBytes) {
        outPaused = true;
        socket.pause();
        socket.once("drain", onDrain);
      }
    }

    function onDrain(): void {
      outPaused = false;
      if (phase === "closed" || phase === "diverted") return;
      const h = held;
      held = null;
      if (h !== null) {
        try {
          feed(h);
        } catch (err) {
          return destroy(`internal-error: ${(err as Error).message}`);
        }
      }
      if (!outPaused && phase !== "waiting" && (phase as Phase) !== "closed") socket.resume();
    }

    function record(r: Omit<ProxyRequestRecord, "sessionId" | "at" | "srcIp" | "protocol">): void {
      firstTarget ??= r.target;
      const rec: ProxyRequestRecord = { sessionId: id, at: Date.now(), srcIp, protocol, ...r, headers: boundedHeaders(r.headers, L.maxStoredHeaderBytes) };
      o.emit("proxy.request", ctx, {
        proxy_protocol: protocol,
        method: r.method,
        target: truncate(r.target, 2048),
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
    }

    function authAttempt(method: string, user: string, pass: string | null): void {
      if (username === null) (username = user), (password = pass);
      o.emit("proxy.auth.attempt", ctx, { proxy_protocol: protocol, method, username: user, password: pass ?? undefined });
    }

    // ---- CONNECT (HTTP or SOCKS) -----------------------------------------------------------------------------------

    function successReply(channel: Channel): Buffer {
      if (channel === "http-connect") return CONNECT_ESTABLISHED_BYTES;
      if (channel === "socks4") return socks4Reply(SOCKS4_GRANTED);
      return socks5Reply(SOCKS5_REP.succeeded, { ip: destIp, port: ephemeralPort() });
    }

    function failureReply(channel: Channel, timedOut: boolean, target: string, url: string): Buffer {
      if (channel === "socks4") return socks4Reply(SOCKS4_REJECTED);
      if (channel === "socks5") return socks5Reply(timedOut ? SOCKS5_REP.hostUnreachable : SOCKS5_REP.connectionRefused);
      return renderSquidError({
        error: "ERR_CONNECT_FAIL",
        status: timedOut ? 504 : 503,
        url,
        target,
        sysmsg: timedOut ? "(110) Connection timed out" : "(111) Connection refused",
        hostname: o.hostname,
        port: ctx.dest_port,
        now: Date.now(),
        keepAlive: false,
      });
    }

    function statusOf(channel: Channel, ok: boolean): number {
      if (channel === "http-connect") return ok ? 200 : 503;
      if (channel === "socks4") return ok ? SOCKS4_GRANTED : SOCKS4_REJECTED;
      return ok ? SOCKS5_REP.succeeded : SOCKS5_REP.connectionRefused;
    }

    function onConnect(t: SocksTarget, channel: Channel, headers: Array<[string, string]>, rest: Buffer): void {
      disarmHandshake();
      requests++;
      const target = formatHostPort(t.host, t.port);
      const base = { method: "CONNECT", target, host: t.host, port: t.port, headers, bodyBytes: 0 };
      if (o.mailPorts.includes(t.port)) {
        record({ ...base, outcome: "smtp-diverted", status: statusOf(channel, true) });
        // Two writes, not one corked: a real proxy's 200 can never arrive in the same segment as the far server's
        // banner, and a detector reading both in one packet would have its tell.
        send(successReply(channel));
        divert(t, channel, target, rest);
        return;
      }
      if (o.otherTargets === "close") {
        record({ ...base, outcome: "closed", status: null });
        destroy("other-target-closed");
        return;
      }
      if (o.otherTargets === "timeout") {
        record({ ...base, outcome: "timeout", status: statusOf(channel, false) });
        wait(() => endWith(failureReply(channel, true, t.host, target), "other-target-timeout"));
        return;
      }
      record({ ...base, outcome: "tunnel", status: statusOf(channel, true) });
      send(successReply(channel));
      tunnel = { host: t.host, port: t.port };
      startHead(rest);
    }

    function divert(t: SocksTarget, channel: Channel, target: string, rest: Buffer): void {
      phase = "diverted";
      diverted = true;
      clearTimers();
      // This closure lives on (its close handler) as long as the SMTP session: keep only what that handler needs.
      reader = null;
      socks = null;
      socket.off("data", onData);
      socket.off("timeout", onIdle);
      socket.setTimeout(0);
      // The SMTP session has its own output limit: reading is its business from here.
      if (outPaused) {
        socket.off("drain", onDrain);
        outPaused = false;
        socket.resume();
      }
      // No pause: the SMTP session attaches its own data listener synchronously below, so nothing is lost.
      if (rest.length > 0) socket.unshift(rest);
      const implicitTls = o.implicitTlsPorts.includes(t.port);
      o.emit("proxy.smtp.diverted", ctx, { proxy_protocol: protocol, target, implicit_tls: implicitTls });
      const handOff: HandOff = {
        channel,
        target,
        peer: { srcIp, srcPort: ctx.src_port, destIp, destPort: ctx.dest_port },
        implicitTls,
      };
      // The greeting names the host the client meant to reach, when it is a plain name or address.
      if (SAFE_GREETING_HOST.test(t.host)) handOff.greetingHost = t.host;
      o.smtp.handleSocket(socket, handOff);
    }

    /** otherTargets=timeout: hold the client (reading nothing) as a proxy whose upstream does not answer. */
    function wait(then: () => void): void {
      phase = "waiting";
      socket.pause();
      socket.setTimeout(0);
      waitTimer = setTimeout(then, L.upstreamTimeoutMs);
    }

    // ---- SOCKS -----------------------------------------------------------------------------------------------------

    function onSocks(actions: SocksAction[]): void {
      const channel: Channel = protocol === "socks4" ? "socks4" : "socks5";
      for (const a of actions) {
        if (phase !== "socks") return;
        switch (a.type) {
          case "method":
            send(a.reply);
            break;
          case "auth":
            authAttempt(protocol === "socks4" ? "userid" : "userpass", a.username, a.password);
            if (a.reply) send(a.reply);
            break;
          case "connect":
            onConnect(a.target, channel, [], socks!.rest());
            break;
          case "refused": {
            const cmd = a.command === "udp-associate" ? "UDP" : a.command.toUpperCase();
            requests++;
            record({
              method: cmd,
              target: a.target ? formatHostPort(a.target.host, a.target.port) : "",
              host: a.target?.host ?? null,
              port: a.target?.port ?? null,
              headers: [],
              outcome: "refused",
              status: a.reply[1] ?? null,
              bodyBytes: 0,
            });
            endWith(a.reply, `refused-${a.command}`);
            break;
          }
          case "error":
            endWith(a.reply, `bad-handshake: ${a.reason}`);
            break;
        }
      }
    }

    // ---- HTTP (proxy requests, or plain HTTP inside a granted tunnel) -----------------------------------------------

    function startHead(rest: Buffer): void {
      phase = "http-head";
      reader = createHeadReader(L);
      if (rest.length > 0) feed(rest);
    }

    function squidError(error: SquidError, url: string, target: string, head: boolean, keepAlive: boolean, status?: number): Buffer {
      return renderSquidError({ error, url, target, hostname: o.hostname, port: ctx.dest_port, now: Date.now(), head, keepAlive, ...(status ? { status } : {}) });
    }

    function onHeadError(reason: string): void {
      if (tunnel) return endWith(null, `tunnel-not-http: ${reason}`);
      requests++;
      const tooBig = reason === "headers-too-large" || reason === "request-line-too-long" || reason === "too-many-headers";
      const reply = squidError(tooBig ? "ERR_TOO_BIG" : "ERR_INVALID_REQ", "", "", false, false, tooBig ? 400 : undefined);
      record({ method: "?", target: "", host: null, port: null, headers: [], outcome: "error", status: 400, bodyBytes: 0 });
      endWith(reply, `bad-request: ${reason}`);
    }

    function onHead(h: HttpHead, rest: Buffer): void {
      disarmHandshake();
      const auth = header(h, "proxy-authorization");
      if (auth !== undefined && !tunnel) {
        const c = proxyCredentials(auth);
        authAttempt(c.method, c.username, c.password);
      }
      // A CONNECT is answered without reading a body or keeping the request loop: none of the headers below matter.
      if (h.method === "CONNECT" && !tunnel) {
        const t = parseRequestTarget("CONNECT", h.target);
        if (t.kind !== "authority" || t.host === null || t.port === null) {
          requests++;
          record({ method: "CONNECT", target: h.target, host: null, port: null, headers: h.headers, outcome: "error", status: 400, bodyBytes: 0 });
          return endWith(squidError("ERR_INVALID_URL", h.target, h.target, false, false), "bad-connect-target");
        }
        const family = isIP(t.host);
        const hostType = family === 6 ? "ipv6" : family === 4 ? "ipv4" : "domain";
        return onConnect({ host: t.host, hostType, port: t.port }, "http-connect", h.headers, rest);
      }

      const conn = (header(h, "proxy-connection") ?? header(h, "connection") ?? "").toLowerCase();
      const te = header(h, "transfer-encoding");
      const cl = header(h, "content-length");
      const declared = cl !== undefined && /^\d{1,15}$/.test(cl) ? Number(cl) : 0;
      // A body we cannot delimit or will not read ends the connection after the answer.
      const bodyReadable = te === undefined && (cl === undefined || /^\d{1,15}$/.test(cl)) && declared <= L.maxBodyBytes;
      const keepAlive =
        bodyReadable && requests + 1 < L.maxRequestsPerSession && (h.version === "1.1" ? !conn.includes("close") : conn.includes("keep-alive"));
      const isHead = h.method === "HEAD";

      requests++;
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
      const judge = (tunnel !== null || t.kind === "absolute") && isJudgeRequest(host, t.path, [...o.sensorIps, destIp]);
      let reply: Buffer | null;
      let outcome: ProxyOutcome;
      let status: number | null;

      if (judge) {
        const page = renderJudgePage({
          method: h.method,
          path: t.path,
          headers: h.headers,
          remoteAddr: o.sensorIps[0] ?? destIp,
          remotePort: ephemeralPort(),
          via: tunnel ? null : `1.1 ${o.hostname} (${SQUID_VERSION})`,
          now,
        });
        const headers = tunnel
          ? [...page.headers, ["Connection", keepAlive ? "keep-alive" : "close"] as [string, string]]
          : [...page.headers, ...squidResponseHeaders(o.hostname, ctx.dest_port, "MISS"), ["Connection", keepAlive ? "keep-alive" : "close"] as [string, string]];
        reply = renderResponse(200, headers, page.body, isHead);
        outcome = "judge";
        status = 200;
      } else if (tunnel) {
        const page = renderOrigin404(now);
        reply = renderResponse(404, [...page.headers, ["Connection", keepAlive ? "keep-alive" : "close"]], page.body, isHead);
        outcome = "generic";
        status = 404;
      } else if (t.kind !== "absolute") {
        record({ ...base, outcome: "error", status: 400 });
        return endWith(squidError("ERR_INVALID_URL", h.target, h.target, isHead, false), "bad-url");
      } else if (o.otherTargets === "close") {
        record({ ...base, outcome: "closed", status: null });
        return destroy("other-target-closed");
      } else if (o.otherTargets === "timeout") {
        record({ ...base, outcome: "timeout", status: 504 });
        return wait(() =>
          endWith(
            renderSquidError({
              error: "ERR_CONNECT_FAIL",
              status: 504,
              url,
              target: host ?? "",
              sysmsg: "(110) Connection timed out",
              hostname: o.hostname,
              port: ctx.dest_port,
              now: Date.now(),
              head: isHead,
              keepAlive: false,
            }),
            "other-target-timeout",
          ),
        );
      } else {
        reply = renderSquidError({
          error: "ERR_CONNECT_FAIL",
          url,
          target: host ?? "",
          sysmsg: "(111) Connection refused",
          hostname: o.hostname,
          port: ctx.dest_port,
          now,
          head: isHead,
          keepAlive,
        });
        outcome = "generic";
        status = 503;
      }
      record({ ...base, outcome, status });
      if (!keepAlive) return endWith(reply, "answered");
      send(reply);
      bodyLeft = declared;
      phase = "http-body";
      reader = null;
      // Pipelined requests wait (unparsed, at most one read's worth) until the client takes its answers.
      if (outPaused) held = rest;
      else if (rest.length > 0) feed(rest);
      else if (bodyLeft === 0) startHead(Buffer.alloc(0));
    }

    // ---- input -----------------------------------------------------------------------------------------------------

    function feed(chunk: Buffer): void {
      let data = chunk;
      while (data.length > 0) {
        switch (phase) {
          case "sniff": {
            const p = sniffProtocol(data);
            if (p === null) return;
            protocol = p;
            if (p === "http") startHead(Buffer.alloc(0));
            else {
              phase = "socks";
              socks = p === "socks4" ? createSocks4Machine() : createSocks5Machine();
            }
            continue;
          }
          case "socks":
            return onSocks(socks!.push(data));
          case "http-head": {
            armHandshake();
            const r = reader!.push(data);
            if (r.status === "more") return;
            if (r.status === "error") return onHeadError(r.reason);
            return onHead(r.head, reader!.rest());
          }
          case "http-body": {
            const n = Math.min(bodyLeft, data.length);
            bodyLeft -= n;
            data = data.subarray(n);
            if (bodyLeft === 0) {
              startHead(data);
              return;
            }
            continue;
          }
          default:
            return;
        }
      }
      if (phase === "http-body" && bodyLeft === 0) startHead(Buffer.alloc(0));
    }

    const onData = (chunk: Buffer): void => {
      bytesIn += chunk.length;
      conn.lastActive = Date.now();
      try {
        feed(chunk);
      } catch (err) {
        // A bug must never take the sensor down: end this connection only.
        destroy(`internal-error: ${(err as Error).message}`);
      }
    };
    const onIdle = (): void => destroy("idle-timeout");

    const conn: Conn = { socket, srcIp, diverted: () => diverted, lastActive: startedAt, expire: destroy, onClosed: null };
    conns.set(socket, conn);
    let ipConns = perIp.get(srcIp);
    if (!ipConns) perIp.set(srcIp, (ipConns = new Set()));
    ipConns.add(conn);
    if (conns.size >= stressAt && sweeper === null) {
      sweeper = setInterval(sweep, Math.max(10, Math.min(STRESS_SWEEP_MS, Math.floor(L.stressIdleTimeoutMs / 4)))).unref();
    }
    socket.on("error", () => {
      if (phase !== "closed" && !diverted) closeReason = "socket-error";
    });
    socket.once("close", () => {
      clearTimers();
      if (phase !== "closed" && !diverted) phase = "closed";
      release(conn);
      const endedAt = Date.now();
      const reason = diverted ? "diverted" : closeReason;
      o.emit("proxy.session.closed", ctx, { proxy_protocol: protocol, duration_ms: endedAt - startedAt, reason, requests, bytes_in: bytesIn });
      try {
        o.recorder.sessionEnded({
          id,
          protocol,
          startedAt,
          endedAt,
          srcIp,
          srcPort: ctx.src_port,
          destIp,
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
      if (conn.onClosed) setImmediate(conn.onClosed);
    });
    socket.setTimeout(L.idleTimeoutMs);
    socket.on("timeout", onIdle);
    socket.on("data", onData);
    o.emit("proxy.session.connect", ctx, {});
    armHandshake();
  }

  return {
    get activeSessions() {
      return conns.size;
    },
    get maxBufferedBytes() {
      let max = 0;
      for (const [sock, c] of conns) if (!c.diverted() && !sock.destroyed) max = Math.max(max, sock.writableLength);
      return max;
    },
    async listen(hostPort) {
      let port = 0; // the bound port, known once listening; connections are accepted only after that
      const server = createServer({ noDelay: true }, (s) => serve(s, port));
      const bound = await listenOn(server, hostPort, "proxy", LISTEN_BACKLOG);
      port = bound.port;
      server.on("error", () => {});
      servers.push(server);
      return { kind: "proxy", address: formatHostPort(bound.host, port), port };
    },
    async close() {
      closing = true;
      if (sweeper) clearInterval(sweeper);
      sweeper = null;
      // Not awaited: a listener's close completes only when the sessions handed to the SMTP trap have ended too.
      for (const s of servers) s.close();
      const ending: Promise<void>[] = [];
      for (const [sock, c] of conns) {
        if (c.diverted()) continue;
        ending.push(new Promise<void>((r) => (c.onClosed = r)));
        sock.destroy();
      }
      await Promise.all(ending);
    },
  };
}
