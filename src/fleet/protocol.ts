// The fleet wire protocol, the one module the sensor side (src/fleet/: push client, dropbox list, its SQLite outbox) and
// the collector server (src/collector/, its PostgreSQL store) share: what a sensor pushes (POST INGEST_PATH), its
// validation (zod: bounded strings and arrays, so a malformed or hostile push is a 400, never a crash or an unbounded
// row) and what the collector serves back (GET DROPBOXES_PATH).
import { z } from "zod";
import type { EnvelopeKey, MessageRow, StoredKind } from "../store/types.js";

export const INGEST_PATH = "/api/v1/ingest";
export const DROPBOXES_PATH = "/api/v1/dropboxes";

/** The verdict without its evidence (kept on the sensor). */
export interface FleetVerdict {
  kind: "relay-test" | "spam" | "other";
  testedIps: string[];
  matchesSensor: boolean;
  dropboxes: string[];
  score: number;
  tester?: string | undefined;
  /** How sure the sensor's analyzer is that this is a relay test; absent from older sensors. Only "certain" tests (or
   * ones without it) count towards a pooled dropbox. */
  confidence?: "certain" | "likely" | "possible" | null | undefined;
}

/** A message summary; `id` is the sensor's own message id, (sensor, id) is the idempotency key. */
export interface FleetMessage extends Pick<MessageRow, EnvelopeKey> {
  subject: string | null;
  size: number;
  sha256: string;
  kind: StoredKind;
  verdict: FleetVerdict | null;
  /** The message's relay-test confidence (the verdict's), for the collector's "certain only" counts. */
  confidence?: "certain" | "likely" | "possible" | null | undefined;
  bodyStored: boolean;
  /** The raw message, base64; only when the sensor is configured to push bodies. */
  raw?: string | undefined;
}

/** An event as the sensor emitted it (Cowrie style); `id` is the sensor's outbox id, (sensor, id) the key. */
export interface FleetEvent {
  id: number;
  event: { eventid: string; timestamp: string; session?: string; protocol?: string; src_ip?: string; [field: string]: unknown };
}

export interface IngestBatch {
  /** relaytrap version of the sensor. */
  version: string;
  messages: FleetMessage[];
  events: FleetEvent[];
}

export interface IngestResult {
  /** Rows newly stored; a retried batch stores nothing twice. */
  messages: number;
  events: number;
  duplicates: number;
}

/** One entry of the shared dropbox list. */
export interface FleetDropbox {
  address: string;
  /** "relay-test": named by relay tests; "recurring": a spam recipient recurring across many sources. */
  kind: "relay-test" | "recurring";
  /** Relay tests naming it (relay-test) or spam messages to it (recurring). */
  tests: number;
  sources: number;
  sensors: number;
  firstSeen: number;
  lastSeen: number;
  tester: string | null;
  /** 0..100: how sure the fleet is that this address collects relay tests / spam for a spammer. Below
   * UNKNOWN_MAX_SCORE unless known. */
  score: number;
  /** Seen by at least collector.dropboxMinSensors distinct (not revoked) sensors, or confirmed: only known dropboxes
   * are served to sensors. */
  known: boolean;
  /** An operator confirmed it (relaytrap collector-dropbox confirm). */
  confirmed: boolean;
}

// ---------- validation of a push (the collector's side)

/** Items of each kind in one push at most. */
export const MAX_BATCH_ITEMS = 5000;
/** Longest string field (subject, addresses, ...) accepted. */
export const MAX_FIELD_CHARS = 4096;
export const MAX_RCPT_PER_MESSAGE = 10_000;

const str = z.string().max(MAX_FIELD_CHARS);
const nstr = str.nullable();
const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const port = z.number().int().min(0).max(65535);
const time = z.number().int().min(0).max(8.64e15);

const verdict = z
  .object({
    kind: z.enum(["relay-test", "spam", "other"]),
    testedIps: z.array(str).max(1000),
    matchesSensor: z.boolean(),
    dropboxes: z.array(str).max(1000),
    score: z.number().finite(),
    tester: str.optional(),
    confidence: z.enum(["certain", "likely", "possible"]).nullable().optional(),
  })
  .strip();

const message = z
  .object({
    id,
    queueId: str,
    sessionId: str,
    receivedAt: time,
    srcIp: str,
    srcPort: port,
    destIp: str,
    destPort: port,
    channel: str,
    helo: nstr,
    mailFrom: nstr,
    rcptTo: z.array(str).max(MAX_RCPT_PER_MESSAGE),
    subject: nstr,
    size: z.number().int().min(0).max(2 ** 31 - 1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    kind: z.enum(["relay-test", "spam", "other", "unknown"]),
    verdict: verdict.nullable(),
    confidence: z.enum(["certain", "likely", "possible"]).nullable().optional(),
    bodyStored: z.boolean(),
    raw: z.base64().optional(),
  })
  .strip();

const event = z.object({
  id,
  event: z.looseObject({ eventid: z.string().min(1).max(100), timestamp: z.string().max(64) }),
});

export const ingestSchema = z
  .object({
    version: z.string().max(64),
    messages: z.array(message).max(MAX_BATCH_ITEMS),
    events: z.array(event).max(MAX_BATCH_ITEMS),
  })
  .strip();
