// What a sensor pushes to a collector (the wire format of POST /api/v1/ingest) and what the collector serves back:
// plain types shared by the sensor's SQLite outbox and the collector's PostgreSQL store.
import type { EnvelopeKey, MessageRow, StoredKind } from "./types.js";

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
