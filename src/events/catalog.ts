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
  "smtp.session.connect": { fields: ["channel", "tls", "target"], doc: "A client connected to an SMTP listener (or was diverted from a proxy)." },
  "smtp.command": { fields: ["verb", "arg"], doc: "One command line from the client (AUTH secrets are in smtp.auth.attempt, not here)." },
  "smtp.tls.established": { fields: ["tls_version", "cipher", "sni"], doc: "A TLS handshake (STARTTLS or implicit) completed." },
  "smtp.tls.failed": { fields: ["reason"], doc: "A TLS handshake failed." },
  "smtp.auth.attempt": { fields: ["mechanism", "username", "password", "accepted"], doc: "An AUTH attempt, recorded whether or not AUTH is advertised." },
  "smtp.message.stored": {
    fields: ["message", "queue_id", "size", "sha256", "rcpt_count", "mail_from", "subject", "kind", "tested_ips", "matches_sensor", "body_stored"],
    doc: "A message was durably stored (the 250 went out after this point).",
  },
  "smtp.message.dropped": {
    fields: ["reason", "size", "message"],
    doc: "A message body was not kept: client-disconnect, size-limit, timeout, storage-error (nothing acknowledged), or source-cutoff / quota (acknowledged, body not stored).",
  },
  "smtp.session.closed": { fields: ["duration_ms", "reason", "messages", "commands"], doc: "The session ended." },
  "smtp.rdns": { fields: ["hostname"], doc: "Reverse DNS of the client resolved (only with rdns.enabled)." },
} as const satisfies Record<string, { fields: readonly string[]; doc: string }>;

export type EventId = keyof typeof EVENT_CATALOG;

export function isCatalogued(id: string): id is EventId {
  return Object.hasOwn(EVENT_CATALOG, id);
}
