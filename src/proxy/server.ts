// The proxy trap: one listener serves HTTP proxy and SOCKS4/4a/5 (told apart by the first byte). Nothing is ever
// forwarded and no requested name is ever resolved: mail ports are handed to the SMTP trap in-process, judge URLs get a
// synthesized page, everything else a Squid-like answer, a timeout or a close (proxy.otherTargets). This file accepts,
// sniffs, caps and evicts connections and writes their answers; http-proxy.ts, socks4.ts and socks5.ts speak.
import { createServer, type Server, type Socket } from "node:net";
import type { EventId } from "../events/catalog.js";
import type { EventContext } from "../events/dispatcher.js";
import { sessionId } from "../events/session-id.js";
import { formatHostPort, listenOn, normalizeIp } from "../net/address.js";
import { LISTEN_BACKLOG, type BoundListener, type HandOff } from "../smtp/server.js";
import { divertToSmtp } from "./divert.js";
import type { ProxyLimits } from "./limits.js";
import { createHttpProxy } from "./http-proxy.js";
import { createProxyRecording } from "./record.js";
import { sniffProtocol } from "./sniff.js";
import { createSocks4Session } from "./socks4.js";
import { createSocks5Session } from "./socks5.js";
import type { ProxyConnection, ProxyInput, ProxyProtocol, ProxyRecorder, ProxySettings } from "./types.js";

export type { OtherTargets } from "./types.js";

export interface ProxyTrapOptions extends ProxySettings {
  /** Where mail-port tunnels go: the SMTP trap, in-process. */
  smtp: { handleSocket(socket: Socket, handOff: HandOff): void };
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
    serveConnection(o, socket, srcIp, listenPort, {
      add(c) {
        conns.set(socket, c);
        let ipConns = perIp.get(srcIp);
        if (!ipConns) perIp.set(srcIp, (ipConns = new Set()));
        ipConns.add(c);
        if (conns.size >= stressAt && sweeper === null) {
          sweeper = setInterval(sweep, Math.max(10, Math.min(STRESS_SWEEP_MS, Math.floor(L.stressIdleTimeoutMs / 4)))).unref();
        }
      },
      release,
    });
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

function connectionContext(socket: Socket, srcIp: string, listenPort: number): EventContext {
  return {
    session: sessionId(),
    protocol: "proxy",
    src_ip: srcIp,
    src_port: socket.remotePort ?? 0,
    dest_ip: normalizeIp(socket.localAddress),
    dest_port: socket.localPort ?? listenPort,
  };
}

/** A connection's clocks: its wall-clock cap (running from the start), the handshake clock, otherTargets=timeout's wait. */
function createClocks(L: ProxyLimits, expire: (reason: string) => void) {
  let handshake: NodeJS.Timeout | null = null;
  let wait: NodeJS.Timeout | null = null;
  const session = setTimeout(() => expire("session-timeout"), L.sessionTimeoutMs);
  const disarmHandshake = (): void => {
    if (handshake) clearTimeout(handshake);
    handshake = null;
  };
  return {
    armHandshake(): void {
      if (handshake === null) handshake = setTimeout(() => expire("handshake-timeout"), L.handshakeTimeoutMs);
    },
    disarmHandshake,
    wait(then: () => void): void {
      wait = setTimeout(then, L.upstreamTimeoutMs);
    },
    clear(): void {
      disarmHandshake();
      if (wait) clearTimeout(wait);
      wait = null;
      clearTimeout(session);
    },
  };
}

/**
 * One accepted connection: its timers, the one write function (with output backpressure), its ends, and the protocol
 * state machine its bytes go to (sniffed from the first byte). `registry` counts it while it lives.
 */
function serveConnection(o: ProxyTrapOptions, socket: Socket, srcIp: string, listenPort: number, registry: { add(c: Conn): void; release(c: Conn): void }): void {
  const L = o.limits;
  socket.setNoDelay(true);
  const startedAt = Date.now();
  const ctx = connectionContext(socket, srcIp, listenPort);
  /** open: reading; waiting: held (otherTargets=timeout); diverted: the SMTP trap's; closed: ending. */
  let state: "open" | "waiting" | "diverted" | "closed" = "open";
  let protocol: ProxyProtocol = "unknown";
  let input: ProxyInput = sniff;
  let bytesIn = 0;
  const recording = createProxyRecording({ ctx, startedAt, protocol: () => protocol, limits: L, emit: o.emit, recorder: o.recorder });
  let closeReason = "client-closed";
  /** Reading stopped because the client has not taken maxPendingOutputBytes of answers; `held` is fed on drain. */
  let outPaused = false;
  let held: Buffer | null = null;
  const clocks = createClocks(L, (reason) => destroy(reason));
  const { armHandshake, disarmHandshake } = clocks;

  function destroy(reason: string): void {
    if (state === "closed" || state === "diverted") return;
    closeReason = reason;
    state = "closed";
    socket.destroy();
  }

  function endWith(data: Buffer | null, reason: string): void {
    if (state === "closed" || state === "diverted") return;
    closeReason = reason;
    state = "closed";
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
    if (state === "closed" || state === "diverted") return;
    const h = held;
    held = null;
    if (h !== null) {
      try {
        feed(h);
      } catch (err) {
        return destroy(`internal-error: ${(err as Error).message}`);
      }
    }
    if (!outPaused && state !== "waiting" && (state as string) !== "closed") socket.resume();
  }

  function sniff(data: Buffer): void {
    const p = sniffProtocol(data);
    if (p === null) return;
    protocol = p;
    input = p === "http" ? createHttpProxy(conn, null) : p === "socks4" ? createSocks4Session(conn) : createSocks5Session(conn);
    input(data);
  }

  function feed(data: Buffer): void {
    if (state === "open") input(data);
  }

  const conn: ProxyConnection = {
    settings: o,
    ctx,
    recording,
    get outPaused() {
      return outPaused;
    },
    send,
    endWith,
    destroy,
    armHandshake,
    disarmHandshake,
    hold: (rest) => (held = rest),
    wait(then) {
      state = "waiting";
      socket.pause();
      socket.setTimeout(0);
      clocks.wait(then);
    },
    tunnel(t, rest) {
      input = createHttpProxy(conn, { host: t.host, port: t.port });
      if (rest.length > 0) feed(rest);
    },
    divert(t, channel, target, rest) {
      state = "diverted";
      clocks.clear();
      // This closure lives on (its close handler) as long as the SMTP session: keep only what that handler needs.
      input = sniff;
      socket.off("data", onData);
      socket.off("timeout", onIdle);
      socket.setTimeout(0);
      // The SMTP session has its own output limit: reading is its business from here.
      if (outPaused) {
        socket.off("drain", onDrain);
        outPaused = false;
        socket.resume();
      }
      divertToSmtp(socket, { smtp: o.smtp, implicitTlsPorts: o.implicitTlsPorts, emit: o.emit, ctx, protocol, channel, target, host: t.host, port: t.port, rest });
    },
  };

  const onData = (chunk: Buffer): void => {
    bytesIn += chunk.length;
    entry.lastActive = Date.now();
    try {
      feed(chunk);
    } catch (err) {
      // A bug must never take the sensor down: end this connection only.
      destroy(`internal-error: ${(err as Error).message}`);
    }
  };
  const onIdle = (): void => destroy("idle-timeout");

  const entry: Conn = { socket, srcIp, diverted: () => state === "diverted", lastActive: startedAt, expire: destroy, onClosed: null };
  registry.add(entry);
  socket.on("error", () => {
    if (state !== "closed" && state !== "diverted") closeReason = "socket-error";
  });
  socket.once("close", () => {
    clocks.clear();
    const diverted = state === "diverted";
    if (!diverted) state = "closed";
    registry.release(entry);
    recording.ended({ reason: diverted ? "diverted" : closeReason, diverted, bytesIn });
    if (entry.onClosed) setImmediate(entry.onClosed);
  });
  socket.setTimeout(L.idleTimeoutMs);
  socket.on("timeout", onIdle);
  socket.on("data", onData);
  o.emit("proxy.session.connect", ctx, {});
  armHandshake();
}
