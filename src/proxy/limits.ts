// Named limits of the proxy trap. Defaults follow Squid 5's where one exists; all are overridable in config
// (`proxy.limits.*`).

export const PROXY_LIMIT_DEFAULTS = {
  /** Longest HTTP request line (method, URI, version); a longer one gets a 400 (Squid: part of the header limit). */
  maxRequestLineBytes: 8192,
  /** Squid request_header_max_size: request line plus headers. */
  maxHeaderBytes: 65_536,
  /** Header fields in one request. */
  maxHeaders: 100,
  /** A request body (POST) larger than this is not read: the answer goes out with Connection: close. */
  maxBodyBytes: 1024 * 1024,
  /** Total time for a proxy handshake or one request head, however slowly the bytes trickle in (slowloris). */
  handshakeTimeoutMs: 30_000,
  /** Squid client_idle_pconn_timeout / read_timeout: idle time on a connection we are still serving. */
  idleTimeoutMs: 120_000,
  /** Wall-clock cap of one proxy connection (not counting a session handed to the SMTP trap). */
  sessionTimeoutMs: 600_000,
  /** How long otherTargets=timeout holds a request before answering as Squid does after connect_timeout. */
  upstreamTimeoutMs: 60_000,
  /** Requests (keep-alive or in a tunnel) served on one connection. */
  maxRequestsPerSession: 100,
  /** Concurrent proxy connections across all proxy listeners. At it, a new client evicts the longest-idle connection of
   * the source with the most connections (closed, as Squid closes an idle one), so idle crowds cannot lock others out. */
  maxSessions: 2000,
  /** Concurrent proxy connections from one client IP. */
  maxSessionsPerIp: 50,
  /** Bytes of request headers kept per stored request. */
  maxStoredHeaderBytes: 8192,
  /** Bytes of answers a client has not taken (pipelined requests, not read); beyond it nothing more is read or answered
   * until the socket drains. */
  maxPendingOutputBytes: 64 * 1024,
  /** Stress: from this percentage of maxSessions on, a connection idle for stressIdleTimeoutMs is closed. */
  stressHighWaterPercent: 90,
  /** Idle time allowed under stress (as the SMTP trap's limits.stressIdleTimeoutMs). */
  stressIdleTimeoutMs: 10_000,
} as const;

export type ProxyLimits = { -readonly [K in keyof typeof PROXY_LIMIT_DEFAULTS]: number };

/** SOCKS field lengths are one byte: a SOCKS4 userid or hostname longer than this is not a valid request. */
export const SOCKS4_MAX_FIELD_BYTES = 255;
/** Bytes after which a method that has not ended with a space cannot be an HTTP request line. */
export const MAX_METHOD_BYTES = 32;
