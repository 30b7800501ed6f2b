// A push as the collector takes it: validated against the wire schema (src/fleet/protocol.ts) and made fit for
// PostgreSQL before anything reaches it.
import { ingestSchema, type IngestBatch } from "../fleet/protocol.js";

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
