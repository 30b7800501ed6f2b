// Every event id relaytrap emits, with the fields it carries beyond the common ones (Cowrie style).

/** Fields every event has, authoritative, set by the dispatcher from the session context. */
export const COMMON_FIELDS = [
  "eventid",
  "timestamp",
  "sensor",
  "session",
  "protocol",
  "src_ip",
  "src_port",
  "dest_ip",
  "dest_port",
] as const;

export const EVENT_CATALOG = {
  "smtp.session.connect": {
    fields: ["channel", "tls", "target", "geo"],
    doc: "A client connected to an SMTP listener (or was diverted from a proxy). geo: {country, asn, as_name} of src_ip from the offline databases (null: unknown or still loading; absent with enrich.enabled false).",
  },
  "smtp.command": { fields: ["verb", "arg"], doc: "One command line from the client (AUTH secrets are in smtp.auth.attempt, not here)." },
  "smtp.tls.established": { fields: ["tls_version", "cipher", "sni"], doc: "A TLS handshake (STARTTLS or implicit) completed." },
  "smtp.tls.failed": { fields: ["reason"], doc: "A TLS handshake failed." },
  "smtp.auth.attempt": { fields: ["mechanism", "username", "password", "accepted"], doc: "An AUTH attempt, recorded whether or not AUTH is advertised." },
  "smtp.message.stored": {
    fields: ["message", "queue_id", "size", "sha256", "rcpt_count", "mail_from", "subject", "kind", "tested_ips", "matches_sensor", "confidence", "body_stored"],
    doc: "A message was durably stored (the 250 went out after this point).",
  },
  "smtp.message.dropped": {
    fields: ["reason", "size", "message"],
    doc: "A message body was not kept: client-disconnect, size-limit, timeout, storage-error (nothing acknowledged), or source-cutoff / quota (acknowledged, body not stored).",
  },
  "smtp.session.closed": { fields: ["duration_ms", "reason", "messages", "commands"], doc: "The session ended." },
  "smtp.rdns": { fields: ["hostname"], doc: "Reverse DNS of the client resolved (only with rdns.enabled)." },
  "proxy.session.connect": { fields: ["geo"], doc: "A client connected to a proxy listener (protocol \"proxy\"; HTTP or SOCKS is told apart later). geo as in smtp.session.connect." },
  "proxy.auth.attempt": {
    fields: ["proxy_protocol", "method", "username", "password"],
    doc: "Proxy credentials: SOCKS4 userid, SOCKS5 RFC 1929 user/pass (accepted) or an HTTP Proxy-Authorization (basic decoded).",
  },
  "proxy.request": {
    fields: ["proxy_protocol", "method", "target", "headers", "outcome", "status"],
    doc: "One proxy request (CONNECT, GET, ..., SOCKS BIND/UDP) with a headers summary and what the trap did: smtp-diverted, judge, tunnel, generic, timeout, closed, refused, error.",
  },
  "proxy.smtp.diverted": { fields: ["proxy_protocol", "target", "implicit_tls"], doc: "A tunnel to a mail port was handed to the SMTP trap in-process (nothing left the machine)." },
  "proxy.session.closed": { fields: ["proxy_protocol", "duration_ms", "reason", "requests", "bytes_in"], doc: "The proxy connection ended (reason \"diverted\" once its SMTP session ended)." },
  "delivery.queued": {
    fields: ["message", "recipient", "mode", "outbox"],
    doc: "A delivery (mode relay-test, or dropbox-copy) was put in the outbox. The common fields are the trapped session's.",
  },
  "delivery.sent": {
    fields: ["message", "recipient", "mode", "outbox", "attempts", "route", "response", "size"],
    doc: "The destination accepted the delivery (route: via:host[ip:port]).",
  },
  "delivery.skipped": {
    fields: ["message", "recipient", "mode", "outbox", "reason", "error"],
    doc: "A delivery candidate was not sent: disabled, kill-switch, not-certain, not-matching-sensor, no-dropbox, no-body, too-big, html, attachments, invalid-recipient, cap-day, cap-dropbox, cap-source, dry-run, expired, body-gone, destination-refused.",
  },
  "delivery.failed": {
    fields: ["message", "recipient", "mode", "outbox", "attempts", "error", "permanent", "will_retry", "retry_at"],
    doc: "A delivery attempt failed; will_retry says whether another attempt is scheduled.",
  },
  "store.pruned": {
    fields: ["reason", "messages", "sessions", "bodies", "bytes", "older_than"],
    doc: "The store deleted data: reason age (storage.maxAgeDays; older_than is the cut-off time), quota (storage.quotaBytes: bodies dropped, summaries kept) or storage-full (a full disk or storage.maxDatabaseBytes). bytes: raw message bytes removed. Protocol \"store\", no session.",
  },
} as const satisfies Record<string, { fields: readonly string[]; doc: string }>;

export type EventId = keyof typeof EVENT_CATALOG;

export function isCatalogued(id: string): id is EventId {
  return Object.hasOwn(EVENT_CATALOG, id);
}
