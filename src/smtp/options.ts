// The SMTP trap's contract with the rest of the sensor: what a session is started with (SessionOptions) and what it
// calls back (SmtpHooks: store a message, report a drop, the session record, events).
import type { SecureContext } from "node:tls";
import type { EventId } from "../events/catalog.js";
import type { EventContext } from "../events/dispatcher.js";
import type { SessionRecord } from "../store/types.js";
import type { Limits } from "./limits.js";
import type { Persona } from "./personas.js";
import type { Session } from "./session.js";

export interface AuthOptions {
  enabled: boolean;
  mechanisms: string[];
  accept: boolean;
}

export interface CompletedMessage {
  session: Session;
  queueId: string;
  receivedAt: number;
  helo: string | null;
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
}

export type StoreOutcome = { ok: true } | { ok: false; reason: "disk-full" | "error" };

/** What the SMTP layer needs from the rest of the sensor. */
export interface SmtpHooks {
  /** Durably store a message; the 250 is sent only after this resolves ok. */
  storeMessage(m: CompletedMessage): Promise<StoreOutcome>;
  /** A message was not accepted (nothing acknowledged). */
  messageDropped(s: Session, reason: string, size: number): void;
  sessionEnded(rec: SessionRecord): void;
  emit(id: EventId, ctx: EventContext, fields?: Record<string, unknown>): void;
}

export interface SessionOptions {
  persona: Persona;
  hostname: string;
  limits: Limits;
  auth: AuthOptions;
  jitterMs: number;
  /** null: STARTTLS is not offered. */
  secureContext: SecureContext | null;
  hooks: SmtpHooks;
  /** "smtp" or "smtps" (implicit TLS). */
  protocol: string;
  /** "direct", or the proxy channel that handed us this connection. */
  channel: string;
  /** The host:port a proxy client meant to reach, for diverted sessions. */
  target?: string | null;
  /** Overrides our host name in the greeting (diverted sessions greet as their intended target). */
  greetingHost?: string;
  /** Peer addresses when the socket's own are not the real ones (proxy tunnels). */
  peer?: { srcIp: string; srcPort: number; destIp: string; destPort: number };
  rdns?: Promise<string | null> | null;
}
