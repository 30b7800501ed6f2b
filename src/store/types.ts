// The store interface: what the rest of relaytrap sees of storage. SQL lives only below store/.
import type { AttachmentMeta, Confidence, HeaderField, MessageKind, Verdict } from "../analysis/types.js";

export type StoredKind = MessageKind | "unknown";

/** Why a body was not kept although the message was acknowledged. */
export type BodyDropReason = "source-cutoff" | "quota";

/** The columns a message row has both when written and when read back. */
export interface MessageColumns {
  queueId: string;
  sessionId: string;
  receivedAt: number;
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  channel: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  subject: string | null;
  fromHeader: string | null;
  toHeader: string | null;
  dateHeader: string | null;
  date: string | null;
  messageIdHeader: string | null;
  size: number;
  sha256: string;
  kind: StoredKind;
  verdict: Verdict | null;
  /** Relay-test confidence (the verdict's, as a column); null: none, or stored before analysis gave one. */
  confidence?: Confidence | null;
  parseError: string | null;
  attachments: AttachmentMeta[];
  headers: HeaderField[];
}

export interface NewMessage extends MessageColumns {
  /** Exact bytes as received; null when the body is not kept (see dropReason). */
  raw: Buffer | null;
  dropReason: BodyDropReason | null;
  textBody: string | null;
  /** The parse found an HTML part (false when the parse failed or was given up). */
  hasHtml: boolean;
  /** Set by `relaytrap import`: when it was stored (pruning by age goes by this, see storage.pruneImported). */
  importedAt?: number | null;
}

export interface TranscriptLine {
  /** "c": from the client, "s": from the server. */
  dir: "c" | "s";
  line: string;
  /** Milliseconds since the session started. */
  t: number;
}

export interface AuthAttempt {
  mechanism: string;
  username: string | null;
  password: string | null;
  accepted: boolean;
  t: number;
}

export interface TlsInfo {
  version: string | null;
  cipher: string | null;
  sni: string | null;
  implicit: boolean;
}

export interface SessionRecord {
  id: string;
  protocol: string;
  channel: string;
  startedAt: number;
  endedAt: number;
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  target: string | null;
  helo: string | null;
  rdns: string | null;
  tls: TlsInfo | null;
  auth: AuthAttempt[];
  transcript: TranscriptLine[];
  transcriptTruncated: boolean;
  commands: number;
  messages: number;
  closeReason: string;
}

/** Why rows or bodies were pruned: storage.maxAgeDays, storage.quotaBytes, or a full disk / storage.maxDatabaseBytes. */
export type PruneReason = "age" | "quota" | "storage-full";

/** What one reason of a prune removed. */
export interface PruneReport {
  reason: PruneReason;
  messages: number;
  sessions: number;
  /** Bodies dropped from rows that stay (the summary row is kept). */
  bodies: number;
  /** Raw message bytes removed (deleted messages' and dropped bodies'). */
  bytes: number;
}

export interface PruneResult {
  deletedMessages: number;
  deletedSessions: number;
  prunedBodies: number;
  rawBytes: number;
  /** One entry per reason that removed anything (empty: nothing was pruned). */
  reports: PruneReport[];
}

export interface PrunePolicy {
  /** Delete rows received before this time (ms since epoch); null: no age limit. */
  olderThan: number | null;
  /** Imported messages (relaytrap import): "import-time" goes by when they were imported, "received-time" by their
   * original received time like live mail. */
  importedBy?: "import-time" | "received-time";
  /** Prune the oldest bodies until stored raw bytes are at most this. */
  quotaBytes: number;
  /** Storage is full: also free at least this many bytes of database pages (oldest bodies first, then, with no
   * bodies left, the oldest sessions and message rows). */
  freeBytes?: number;
}

/** The single writer. putMessage resolves only once the message is durably committed. */
export interface StoreWriter {
  putMessage(m: NewMessage): Promise<number>;
  /** Lazy: committed with the next message (or within writer.LAZY_SEND_MS), not in a commit of its own. */
  putSession(s: SessionRecord): Promise<void>;
  prune(policy: PrunePolicy): Promise<PruneResult>;
  /** For store/ modules only (SQL stays below store/): statements run atomically in the next group commit. Lazy: in
   * the next commit that happens anyway (within writer.LAZY_SEND_MS), as putSession; for rows nothing waits on. */
  exec(statements: Array<{ sql: string; params: unknown[] }>, opts?: { lazy?: boolean }): Promise<Array<{ changes: number; lastInsertRowid: number }>>;
  /** Bytes of raw bodies currently stored. */
  rawBytes(): number;
  close(): Promise<void>;
}

export interface MessageRow extends MessageColumns {
  id: number;
  bodyStored: boolean;
  dropReason: string | null;
  /** As NewMessage.hasHtml; null for rows stored before the store kept it (unknown until `relaytrap reanalyze`). */
  hasHtml: boolean | null;
}

/** The fields every view of a message shares (the sensor's rows, the fleet's summaries): identity, peers, envelope. */
export type EnvelopeKey = "id" | "queueId" | "sessionId" | "receivedAt" | "srcIp" | "srcPort" | "destIp" | "destPort" | "channel" | "helo" | "mailFrom" | "rcptTo";

export interface MessageFilter {
  kind?: StoredKind | undefined;
  since?: number | undefined;
  until?: number | undefined;
  srcIp?: string | undefined;
  /** Only ids below this (cursor pagination, newest first). */
  before?: number | undefined;
  /** Only ids above this (oldest first iteration). */
  after?: number | undefined;
  limit?: number | undefined;
}

export interface SourceCount {
  srcIp: string;
  messages: number;
  bytes: number;
}

export interface StoreReader {
  /** Newest first. */
  listMessages(filter: MessageFilter): MessageRow[];
  /** Oldest first, in pages; safe while the writer runs. */
  iterateMessages(filter: MessageFilter): Iterable<MessageRow>;
  getMessage(id: number): MessageRow | null;
  getRaw(id: number): Buffer | null;
  getSession(id: string): SessionRecord | null;
  /** Messages and bytes per source received since a time (for the per-source cutoff after a restart). */
  sourceCounts(since: number): SourceCount[];
  countMessages(): number;
  /** For store/ modules only: a read query on the read-only connection. */
  all<T>(sql: string, ...params: unknown[]): T[];
  get<T>(sql: string, ...params: unknown[]): T | undefined;
  close(): void;
}

/** A message as lists show it (the web API, and the fleet collector with its own ids). */
export interface MessageSummary {
  id: number;
  receivedAt: number;
  srcIp: string;
  mailFrom: string | null;
  rcptTo: string[];
  subject: string | null;
  kind: StoredKind;
  size: number;
  sessionId: string;
  bodyStored: boolean;
  /** "direct" or the proxy channel (http-connect, socks4, socks5). */
  channel: string;
  /** Relay-test confidence (issue 15): only "certain" acts; null when none was given. */
  confidence?: Confidence | null;
  /** From the verdict, for the relay-test list (web lists only; null without a verdict). */
  testedIps?: string[];
  matchesSensor?: boolean | null;
  tester?: string | null;
  score?: number | null;
  /** How many dropboxes the verdict names (a 21-recipient test: 21). */
  dropboxCount?: number;
}
