// Records the proxy trap produces for storage (store/sqlite/proxy.ts writes them) and the recorder it is given; the
// connection its protocol state machines (http-proxy.ts, socks4.ts, socks5.ts) drive.
import type { EventContext } from "../events/dispatcher.js";
import type { ProxyLimits } from "./limits.js";
import type { ProxyRecording } from "./record.js";
import type { SocksTarget } from "./socks.js";

export type ProxyProtocol = "http" | "socks4" | "socks5" | "unknown";

/** What the trap did with one request. */
export type ProxyOutcome =
  | "smtp-diverted" // mail port: handed to the SMTP trap
  | "judge" // a proxy-judge page was synthesized
  | "tunnel" // tunnel granted (non-mail port); what follows in it is served by us
  | "generic" // a generic answer (Squid error page, a web server's 404)
  | "timeout" // held, then answered as a connect timeout
  | "closed" // connection closed without an answer
  | "refused" // BIND / UDP ASSOCIATE / unsupported address type
  | "error"; // malformed request: error reply

export interface ProxyRequestRecord {
  sessionId: string;
  at: number;
  srcIp: string;
  protocol: ProxyProtocol;
  /** CONNECT, GET, POST, ... or for SOCKS CONNECT / BIND / UDP. Inside a tunnel, the HTTP method. */
  method: string;
  /** host:port for CONNECT, the URI for HTTP requests. */
  target: string;
  host: string | null;
  port: number | null;
  /** Request headers in order, bounded by limits.maxStoredHeaderBytes. */
  headers: Array<[string, string]>;
  outcome: ProxyOutcome;
  /** HTTP status or SOCKS reply code sent; null when nothing was sent. */
  status: number | null;
  /** Request body bytes seen (POST); read and discarded. */
  bodyBytes: number;
}

export interface ProxySessionRecord {
  id: string;
  protocol: ProxyProtocol;
  startedAt: number;
  endedAt: number;
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  /** SOCKS4 userid, SOCKS5 RFC 1929 or Proxy-Authorization credentials (first seen). */
  username: string | null;
  password: string | null;
  /** First requested target. */
  target: string | null;
  requests: number;
  divertedToSmtp: boolean;
  bytesIn: number;
  closeReason: string;
}

/**
 * A connection that ended: its session row, plus the request rows the trap held back to be written with it (the
 * CONNECT that handed it to the SMTP trap: see server.ts), so that they cost the store one request, not two.
 */
export interface ProxySessionEnd extends ProxySessionRecord {
  heldRequests: ProxyRequestRecord[];
}

export interface ProxyRecorder {
  request(r: ProxyRequestRecord): void;
  /** Writes the session row and its held-back request rows together. */
  sessionEnded(s: ProxySessionEnd): void;
}

export type OtherTargets = "generic" | "timeout" | "close";

/** What the protocol state machines know of the trap's configuration. */
export interface ProxySettings {
  /** Squid's visible_hostname (Via, X-Cache, error pages). */
  hostname: string;
  /** Public addresses of the sensor: a URL naming one is a proxy test; the first is the judge's REMOTE_ADDR. */
  sensorIps: readonly string[];
  mailPorts: readonly number[];
  /** Mail ports whose tunnel starts with TLS (SMTPS). */
  implicitTlsPorts: readonly number[];
  otherTargets: OtherTargets;
  limits: ProxyLimits;
}

export type ConnectChannel = "http-connect" | "socks4" | "socks5";

/** How one protocol answers a CONNECT (connect.ts decides which answer). */
export interface ConnectReplies {
  channel: ConnectChannel;
  success(): Buffer;
  /** Refused, or (timedOut) no answer from upstream; target is the host asked for, url host:port. */
  failure(timedOut: boolean, target: string, url: string): Buffer;
  /** The status recorded for a success or failure reply. */
  status(ok: boolean): number;
}

/** A handler of a connection's input bytes (one protocol state machine). */
export type ProxyInput = (data: Buffer) => void;

/** One accepted proxy connection as its protocol state machines see it (server.ts makes it). */
export interface ProxyConnection {
  readonly settings: ProxySettings;
  readonly ctx: EventContext;
  readonly recording: ProxyRecording;
  /** True while the client has not taken maxPendingOutputBytes of answers (reading is paused). */
  readonly outPaused: boolean;
  /** Writes an answer (with output backpressure). */
  send(data: Buffer): void;
  /** Ends the connection after data (if any) with this close reason. */
  endWith(data: Buffer | null, reason: string): void;
  /** Closes the connection at once with this close reason. */
  destroy(reason: string): void;
  /** otherTargets=timeout: reads nothing for upstreamTimeoutMs, then runs `then`. */
  wait(then: () => void): void;
  armHandshake(): void;
  disarmHandshake(): void;
  /** Bytes to feed once the client has taken the pending answers. */
  hold(rest: Buffer): void;
  /** Hands the connection to the SMTP trap (the success reply is sent). */
  divert(t: SocksTarget, channel: ConnectChannel, target: string, rest: Buffer): void;
  /** A tunnel to t was granted: what follows is HTTP to that origin. */
  tunnel(t: SocksTarget, rest: Buffer): void;
}
