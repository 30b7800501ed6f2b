// The delivery side of the store as the rest of relaytrap sees it: dropboxes, recipient counts, outbox, audit, kill
// switch. The SQLite implementation is in sqlite/delivery.ts.

export type OutboxStatus = "queued" | "sending" | "sent" | "failed" | "skipped" | "dry-run";
export type DeliveryMode = "relay-test" | "dropbox-copy";
export type DropboxSource = "relay-test" | "recurring";

export interface DropboxRow {
  address: string;
  firstSeen: number;
  lastSeen: number;
  tests: number;
  distinctSources: number;
  tester: string | null;
  source: DropboxSource;
}

export interface RecipientRow {
  recipient: string;
  messages: number;
  distinctSources: number;
  firstSeen: number;
  lastSeen: number;
}

export interface OutboxRow {
  id: number;
  messageId: number;
  recipient: string;
  mode: DeliveryMode;
  status: OutboxStatus;
  srcIp: string;
  sessionId: string;
  mailFrom: string;
  /** The Received header (with its CRLF) prepended to the stored raw message. */
  received: string;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  updatedAt: number;
  lastError: string | null;
  route: string | null;
  response: string | null;
}

export interface AuditRow {
  at: number;
  messageId: number;
  recipient: string | null;
  decision: string;
  reason: string | null;
}

/** A sighting of a stored message, for the dropbox and recipient tables. */
export interface Sighting {
  at: number;
  srcIp: string;
  /** Dropboxes named by a relay test (empty unless the message is a relay test). */
  dropboxes: string[];
  tester: string | null;
  /** Recipients of a spam run (empty unless the message is spam). */
  recipients: string[];
}

/** Messages one source sent to one recipient in a flush interval (spam recipients are counted in memory first). */
export interface RecipientSighting {
  address: string;
  srcIp: string;
  messages: number;
  first: number;
  last: number;
}

export interface RecurringRule {
  minMessages: number;
  minSources: number;
}

/** Deliveries reserved in a window: what the caps are checked against. */
export interface DeliveryCounters {
  total: number;
  perSource: number;
  perRecipient: Map<string, number>;
}

export interface NewOutboxEntry {
  messageId: number;
  recipient: string;
  mode: DeliveryMode;
  status: "queued" | "dry-run";
  srcIp: string;
  sessionId: string;
  mailFrom: string;
  received: string;
  createdAt: number;
}

export interface ExpiryPolicy {
  /** Dropboxes, recipients and their sources last seen before this are deleted. */
  addressesBefore: number;
  /** Finished outbox rows and audit rows older than this are deleted (null: keep). */
  historyBefore: number | null;
}

/** Dropbox and recipient learning (sqlite/dropboxes.ts). */
export interface DropboxStore {
  recordSighting(s: Sighting, rule: RecurringRule): Promise<void>;
  /** Adds aggregated spam-recipient sightings in one commit. */
  recordRecipients(batch: RecipientSighting[], rule: RecurringRule): Promise<void>;
  /** The given addresses that are known dropboxes learned from relay tests. */
  knownDropboxes(addresses: string[]): Set<string>;
  listDropboxes(limit?: number): DropboxRow[];
  topRecipients(limit?: number): RecipientRow[];
}

/** The outbox, its audit trail and the kill switch (sqlite/delivery.ts). */
export interface OutboxStore {
  /** Deliveries in these statuses since a time: all, this source's, and per recipient as stored (every recipient in
   * the window: the policy folds spellings into mailboxes; the caps keep the window's rows few). */
  counters(since: number, srcIp: string, statuses: OutboxStatus[]): DeliveryCounters;
  /** Inserts outbox rows (ignoring ones that already exist) and audit rows in one commit; returns the ids of new rows. */
  enqueue(entries: NewOutboxEntry[], audit: AuditRow[]): Promise<Array<number | null>>;
  audit(rows: AuditRow[]): Promise<void>;
  /** Messages of this kind received since a time with no audit row yet (decisions lost to a crash). */
  undecidedMessages(kind: string, since: number, limit: number): number[];
  due(now: number, limit: number): OutboxRow[];
  /** queued -> sending, attempts + 1; false when the row was no longer queued. */
  claim(id: number, now: number): Promise<boolean>;
  finish(id: number, update: { status: OutboxStatus; at: number; nextAttemptAt?: number; error?: string | null; route?: string | null; response?: string | null }, audit: AuditRow): Promise<void>;
  /** Rows left in 'sending' by a crash go back to 'queued'; returns how many. */
  requeueInterrupted(now: number): Promise<number>;
  /** Queued rows created before a time become skipped (stale tests are not sent late). */
  expireQueued(before: number, now: number): Promise<OutboxRow[]>;
  switchState(): "on" | "off";
  stats(since: number): Record<OutboxStatus, number>;
}

export interface DeliveryStore extends DropboxStore, OutboxStore {
  /** Old addresses and (per the policy) old history, in one commit. */
  expire(p: ExpiryPolicy): Promise<void>;
}
