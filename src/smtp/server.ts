// SMTP listeners (plain and implicit TLS) and the session registry with its concurrency limits. Other parts (the proxy
// trap) hand sockets in through handleSocket.
import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext, Server as TlsServer, TLSSocket, type SecureContext } from "node:tls";
import { formatHostPort, listenOn, normalizeIp } from "../net/address.js";
import type { KeyPair } from "../net/tls-cert.js";
import type { Limits } from "./limits.js";
import { renderReply, type Persona } from "./personas.js";
import { Session, type AuthOptions, type SessionOptions, type SmtpHooks } from "./session.js";

export interface SmtpTrapOptions {
  persona: Persona;
  hostname: string;
  limits: Limits;
  auth: AuthOptions;
  jitterMs: number;
  keyPair: KeyPair;
  hooks: SmtpHooks;
  rdns?: ((ip: string) => Promise<string | null>) | null;
}

/** Pending-connection queue of the trap's listeners (Node's default is 511): a scanner's burst of connections waits
 * in the kernel instead of being refused. The kernel caps it at net.core.somaxconn. */
export const LISTEN_BACKLOG = 4096;

/** How often, under stress, sessions are checked against limits.stressIdleTimeoutMs (at most; a quarter of it if less). */
export const STRESS_SWEEP_MS = 1000;

export interface BoundListener {
  /** "web" is the sensor's HTTP UI/API listener (src/web), listed alongside for the CLI's "listening" lines. */
  kind: "smtp" | "smtps" | "web" | "proxy";
  address: string;
  port: number;
}

export interface HandOff {
  channel: string;
  target: string | null;
  peer: { srcIp: string; srcPort: number; destIp: string; destPort: number };
  /** Host name the greeting should carry (the intended target). */
  greetingHost?: string;
  implicitTls?: boolean;
}

export interface SmtpTrap {
  listen(kind: "smtp" | "smtps", hostPort: string): Promise<BoundListener>;
  /** Runs an SMTP session on a socket someone else accepted (e.g. a proxy tunnel). */
  handleSocket(socket: Socket, handOff: HandOff): void;
  readonly activeSessions: number;
  /** The most bytes one live session holds for its client (input, queued replies, unsent socket data): fuzzing bounds it. */
  readonly maxBufferedBytes: number;
  /** Stops accepting; ends sessions (those storing a message may finish within graceMs). */
  close(graceMs: number): Promise<void>;
}

export function createSmtpTrap(o: SmtpTrapOptions): SmtpTrap {
  const secureContext: SecureContext = createSecureContext({ key: o.keyPair.key, cert: o.keyPair.cert });
  const servers: Server[] = [];
  const sessions = new Set<Session>();
  /** Live sessions by client address (the per-IP limit, and eviction's most-connected source). */
  const perIp = new Map<string, Set<Session>>();
  /** Sessions at or beyond this count are "under stress": idle time is cut to stressIdleTimeoutMs (Postfix). */
  const stressAt = Math.max(1, Math.ceil((o.limits.maxSessions * o.limits.stressHighWaterPercent) / 100));
  let sweeper: NodeJS.Timeout | null = null;
  /** Resolves when each live session's socket has closed (and the session has recorded its end). */
  const sessionClosed = new Map<Session, Promise<void>>();
  let closing = false;

  /** Takes a session out of the counts (at its socket's close, or when it is evicted and its 421 still drains). */
  function release(session: Session): void {
    if (!sessions.delete(session)) return;
    const ip = session.ctx.src_ip;
    const set = perIp.get(ip);
    set?.delete(session);
    if (set?.size === 0) perIp.delete(ip);
  }

  /**
   * Full: the longest-idle session of the source holding the most sessions makes room (Postfix under stress would have
   * timed it out after 10 s). A session storing a message is never chosen. False if none could be.
   */
  function evictOne(): boolean {
    let source: Set<Session> | undefined;
    for (const set of perIp.values()) if (!source || set.size > source.size) source = set;
    let victim: Session | null = null;
    for (const s of source ?? []) if (!s.storing && (victim === null || s.lastActive < victim.lastActive)) victim = s;
    if (victim === null) return false;
    release(victim);
    victim.expire("stress-evicted");
    return true;
  }

  /** Under stress, ends sessions idle for longer than stressIdleTimeoutMs; stops itself when the stress is over. */
  function sweep(): void {
    if (sessions.size < stressAt || closing) {
      if (sweeper) clearInterval(sweeper);
      sweeper = null;
      return;
    }
    const cutoff = Date.now() - o.limits.stressIdleTimeoutMs;
    for (const s of [...sessions]) {
      if (s.lastActive >= cutoff || s.storing) continue;
      release(s);
      s.expire("stress-idle-timeout");
    }
  }

  function admit(socket: Socket, ip: string): boolean {
    const vars = { host: o.hostname, ip };
    let refuse: string | null = null;
    if (closing) refuse = "serviceUnavailable";
    else if ((perIp.get(ip)?.size ?? 0) >= o.limits.maxSessionsPerIp) refuse = "tooManyConnections";
    else if (sessions.size >= o.limits.maxSessions && !evictOne()) refuse = "serviceUnavailable";
    if (refuse === null) return true;
    socket.on("error", () => {});
    socket.end(renderReply(o.persona, refuse as "serviceUnavailable", vars).join("\r\n") + "\r\n");
    setTimeout(() => socket.destroy(), 2000).unref();
    return false;
  }

  function run(socket: Socket, opts: Partial<SessionOptions> & Pick<SessionOptions, "protocol" | "channel">): void {
    socket.setNoDelay(true);
    const session = new Session(socket, {
      persona: o.persona,
      hostname: o.hostname,
      limits: o.limits,
      auth: o.auth,
      jitterMs: o.jitterMs,
      secureContext: opts.protocol === "smtps" ? null : secureContext,
      hooks: o.hooks,
      rdns: null,
      ...opts,
    });
    const ip = session.ctx.src_ip;
    if (o.rdns && !opts.peer) session.o.rdns = o.rdns(ip);
    sessions.add(session);
    let set = perIp.get(ip);
    if (!set) perIp.set(ip, (set = new Set()));
    set.add(session);
    if (sessions.size >= stressAt && sweeper === null) {
      sweeper = setInterval(sweep, Math.max(10, Math.min(STRESS_SWEEP_MS, Math.floor(o.limits.stressIdleTimeoutMs / 4)))).unref();
    }
    let resolveClosed!: () => void;
    sessionClosed.set(session, new Promise<void>((r) => (resolveClosed = r)));
    socket.once("close", () => {
      release(session);
      sessionClosed.delete(session);
      setImmediate(resolveClosed);
    });
    session.start();
  }

  function onPlain(socket: Socket): void {
    socket.on("error", () => {});
    if (!admit(socket, normalizeIp(socket.remoteAddress))) return;
    run(socket, { protocol: "smtp", channel: "direct" });
  }

  function onSecure(socket: TLSSocket): void {
    socket.on("error", () => {});
    if (!admit(socket, normalizeIp(socket.remoteAddress))) return;
    run(socket, { protocol: "smtps", channel: "direct" });
  }

  return {
    get activeSessions() {
      return sessions.size;
    },
    get maxBufferedBytes() {
      let max = 0;
      for (const s of sessionClosed.keys()) max = Math.max(max, s.bufferedBytes);
      return max;
    },
    async listen(kind, hostPort) {
      const server: Server =
        kind === "smtp"
          ? createServer({ noDelay: true }, onPlain)
          : new TlsServer({ key: o.keyPair.key, cert: o.keyPair.cert, handshakeTimeout: Math.min(o.limits.idleTimeoutMs, 30_000) }, onSecure);
      if (kind === "smtps") server.on("tlsClientError", (_err: Error, s: Socket) => s.destroy());
      const { host, port } = await listenOn(server, hostPort, kind, LISTEN_BACKLOG);
      server.on("error", () => {});
      servers.push(server);
      return { kind, address: formatHostPort(host, port), port };
    },
    handleSocket(socket, h) {
      socket.on("error", () => {});
      if (!admit(socket, h.peer.srcIp)) return;
      const opts: Partial<SessionOptions> & Pick<SessionOptions, "protocol" | "channel"> = {
        protocol: h.implicitTls ? "smtps" : "smtp",
        channel: h.channel,
        target: h.target,
        peer: h.peer,
      };
      if (h.greetingHost !== undefined) opts.greetingHost = h.greetingHost;
      if (!h.implicitTls) return run(socket, opts);
      const tlsSock = new TLSSocket(socket, { isServer: true, secureContext });
      tlsSock.on("error", () => tlsSock.destroy());
      tlsSock.once("secure", () => run(tlsSock, opts));
    },
    async close(graceMs) {
      closing = true;
      if (sweeper) clearInterval(sweeper);
      sweeper = null;
      const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
      // A session storing a message gets up to graceMs so its 250 can go out; every other session ends now
      // (one in the middle of DATA is dropped unacknowledged).
      const storing = [...sessions].flatMap((s) => (s.storing ? [s.storing] : []));
      for (const s of sessions) if (!s.storing) s.socket.destroy();
      if (storing.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([Promise.allSettled(storing), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      }
      const ending = [...sessionClosed.values()];
      // Evicted sessions whose 421 was still draining are no longer in `sessions`.
      for (const s of sessionClosed.keys()) s.socket.destroy();
      await Promise.all([...closed, ...ending]);
    },
  };
}
