// Records the proxy trap produces for storage (store/sqlite/proxy.ts writes them) and the recorder it is given.

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
