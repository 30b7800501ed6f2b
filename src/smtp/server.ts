// SMTP listeners (plain and implicit TLS) that start a Session per admitted client (limits and eviction: admission.ts).
// Other parts (the proxy trap) hand sockets in through handleSocket.
import { createServer, type Server, type Socket } from "node:net";
import { createSecureContext, Server as TlsServer, TLSSocket, type SecureContext } from "node:tls";
import { formatHostPort, listenOn, normalizeIp } from "../net/address.js";
import type { KeyPair } from "../net/tls-cert.js";
import { createAdmission } from "./admission.js";
import type { Limits } from "./limits.js";
import type { Persona } from "./personas.js";
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

export { STRESS_SWEEP_MS } from "./admission.js";

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
  const admission = createAdmission(o);
  const sessions = admission.sessions;
  /** Resolves when each live session's socket has closed (and the session has recorded its end). */
  const sessionClosed = new Map<Session, Promise<void>>();

  function run(socket: Socket, opts: Partial<SessionOptions> & Pick<SessionOptions, "protocol" | "channel">): void {
    socket.setNoDelay(true);
    // The lookup goes in with the options: the constructor subscribes to it (set later, it would never be read).
    // A handed-in socket's client is its peer's srcIp (the proxy client), not the socket's own address.
    const clientIp = opts.peer?.srcIp ?? normalizeIp(socket.remoteAddress);
    const session = new Session(socket, {
      persona: o.persona,
      hostname: o.hostname,
      limits: o.limits,
      auth: o.auth,
      jitterMs: o.jitterMs,
      secureContext: opts.protocol === "smtps" ? null : secureContext,
      hooks: o.hooks,
      rdns: o.rdns ? o.rdns(clientIp) : null,
      ...opts,
    });
    admission.add(session);
    let resolveClosed!: () => void;
    sessionClosed.set(session, new Promise<void>((r) => (resolveClosed = r)));
    socket.once("close", () => {
      admission.release(session);
      sessionClosed.delete(session);
      setImmediate(resolveClosed);
    });
    session.start();
  }

  function onPlain(socket: Socket): void {
    socket.on("error", () => {});
    if (!admission.admit(socket, normalizeIp(socket.remoteAddress))) return;
    run(socket, { protocol: "smtp", channel: "direct" });
  }

  function onSecure(socket: TLSSocket): void {
    socket.on("error", () => {});
    if (!admission.admit(socket, normalizeIp(socket.remoteAddress))) return;
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
      if (!admission.admit(socket, h.peer.srcIp)) return;
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
      admission.close();
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
