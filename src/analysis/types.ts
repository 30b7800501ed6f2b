// Types shared by the message parser and the relay-test analyzer: what a trapped message looks like to analysis.

/** One header field as received, value decoded (RFC 2047) by mailparser/libmime. Key is lower-case. */
export interface HeaderField {
  key: string;
  value: string;
}

/** A message as analysis sees it: parsed once by `parseMessage`, never re-parsed by hand. */
export interface ParsedMessage {
  /** Exact bytes as received (after SMTP dot-unstuffing). */
  raw: Buffer;
  sha256: string;
  size: number;
  /** Header fields in order, decoded. Multiple fields with the same key appear more than once. */
  headers: HeaderField[];
  subject: string | null;
  from: string | null;
  to: string | null;
  /** The Date header exactly as written (e.g. "Sun, 1 Dez 2013 12:17:21 +0000"). */
  dateHeader: string | null;
  /** The Date header as ISO-8601 UTC when it parses, else null. */
  date: string | null;
  messageId: string | null;
  text: string | null;
  html: string | null;
  attachments: AttachmentMeta[];
  /** Set when mailparser failed; the other fields are then best effort (possibly empty). */
  parseError: string | null;
}

export interface AttachmentMeta {
  filename: string | null;
  contentType: string;
  size: number;
  sha256: string;
}

/** The SMTP envelope of a trapped transaction. */
export interface Envelope {
  clientIp: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
}

export type MessageKind = "relay-test" | "spam" | "other";

export interface Evidence {
  /** Which decoder found it, e.g. "plain-ip", "decimal-ascii", "base64", "envelope-literal", "signature". */
  decoder: string;
  /** Where: "subject", "body", "header:x-foo", "message-id", "rcpt", "mail-from", "helo", ... */
  field: string;
  /** What was found (a short excerpt or the decoded text). */
  found: string;
  /** The IP it decoded to, when it decoded to one. */
  ip?: string;
  /** Points this evidence added to Verdict.score (0 = shown for context, not counted). */
  weight?: number;
  /** True when this evidence alone may make a verdict `certain` (content a tester puts there on purpose). */
  certain?: boolean;
  /** True when the IP was read from DNSBL-style reversed octets (23.100.51.198 -> 198.51.100.23). */
  reversed?: boolean;
  /** Other readings of the same decoded bytes when a glued digit makes the first octet ambiguous. */
  alternatives?: string[];
}

/**
 * How sure analysis is that a message is a relay test. Only `certain` acts (delivery, dropbox learning, abuse
 * reports, feeds, the fleet); the UI shows all three with the reasons.
 *   certain:  content a tester puts there on purpose (a decoded IP in a test position or an encoding, an envelope
 *             trick, a specific tester signature), and the message is no notice, report, bounce or list post.
 *   likely:   scored as a relay test, but only on evidence that could be accidental (a learned dropbox, words).
 *   possible: some relay-test evidence, not enough, or in a message that is a notice/report/list post: not a test.
 */
export type Confidence = "certain" | "likely" | "possible";

export interface Verdict {
  kind: MessageKind;
  /** Relay-test confidence: certain or likely when kind is "relay-test", possible (or null: no evidence) otherwise. */
  confidence?: Confidence | null;
  /** Why this confidence, in words (one line each). */
  reasons?: string[];
  testedIps: string[];
  matchesSensor: boolean;
  dropboxes: string[];
  score: number;
  evidence: Evidence[];
  /** Known tester signature name, when one matched. */
  tester?: string;
}

export interface AnalyzeOptions {
  /** Dropbox addresses (lower-case) already seen receiving relay tests. */
  knownDropboxes?: ReadonlySet<string>;
  /** The sensor's own host names (lower-case): role mail to them is mail to the sensor, not a relay test. */
  sensorNames?: ReadonlySet<string>;
}
