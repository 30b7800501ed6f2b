// What a report is about, independent of where it came from (a sensor's store or the collector).

/** "source": the client that sent a relay test or spam; "dropbox": an address that collects relay tests. */
export type ReportKind = "source" | "dropbox";

export interface ReportMessage {
  id: number;
  receivedAt: number;
  srcIp: string;
  srcPort: number;
  destIp: string;
  destPort: number;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  subject: string | null;
  kind: string;
  testedIps: string[];
  dropboxes: string[];
  tester: string | null;
  /** The message as received, or null when its body was not kept (then only what we know is reported). */
  raw: Buffer | null;
}

export interface ReportInput {
  kind: ReportKind;
  message: ReportMessage;
  /** For kind "dropbox": the reported address (one of message.dropboxes). */
  dropbox?: string | undefined;
  /** Other relay-test sources that named the same dropbox (kind "dropbox"). */
  otherSources?: string[] | undefined;
  /** The reporting sensor's host name (Reporting-MTA). */
  reportingHost: string;
  reporter: { name: string; version: string; from: string };
  /** Recipient of the report; null: not addressed (printed for review). */
  to: string | null;
  /** Attach the original whole or only its header. */
  attach: "message" | "headers";
  /** Key for the RFC 6590 redaction of trap recipients (stable per sensor, so one recipient gets one token). */
  redactionKey: string;
}
