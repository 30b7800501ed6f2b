// What the delivery modules pass each other: a stored message as the engine is told about it, and the one way a
// background failure is reported (logged, never thrown at a session).
import type { Verdict } from "../analysis/types.js";
import type { EventContext } from "../events/dispatcher.js";
import type { StoredKind } from "../store/types.js";

export interface StoredMessageInfo {
  id: number;
  queueId: string;
  receivedAt: number;
  srcIp: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  kind: StoredKind;
  verdict: Verdict | null;
  bodyStored: boolean;
  /** Size of the stored message in bytes. */
  size: number;
  /** Whether the parse found an HTML part; null when unknown (the parse failed or predates the column). */
  hasHtml: boolean | null;
  /** Attachments the parse found; null when unknown (the parse failed). */
  attachments: number | null;
  /** What the session knew about the client when the message came in (for the Received header). */
  rdns: string | null;
  esmtp: boolean;
  tls: boolean;
  ctx: EventContext;
}

/** Makes the catch handler of one background step: `promise.catch(fail("doing X"))` logs "delivery: doing X: ...". */
export type Fail = (what: string) => (err: unknown) => void;
