// The ingest wire format, validated (zod) before anything reaches PostgreSQL: bounded strings and arrays, so a
// malformed or hostile push is a 400, never a crash or an unbounded row.
import { z } from "zod";
import type { IngestBatch } from "../store/fleet.js";

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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** PostgreSQL text and jsonb refuse NUL and lone surrogates: hostile mail may carry both, so they become U+FFFD. */
export function pgSafe<T>(v: T): T {
  if (typeof v === "string") return v.replace(/\u0000/g, "\uFFFD").replace(LONE_SURROGATE, "\uFFFD") as T;
  if (Array.isArray(v)) return v.map(pgSafe) as T;
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[pgSafe(k)] = pgSafe(x);
    return out as T;
  }
  return v;
}

export function parseIngest(v: unknown): { ok: true; batch: IngestBatch } | { ok: false; error: string } {
  const r = ingestSchema.safeParse(v);
  if (r.success) return { ok: true, batch: pgSafe(r.data) as IngestBatch };
  const issue = r.error.issues[0];
  return { ok: false, error: `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}` };
}
