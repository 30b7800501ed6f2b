// What a route is, and the helpers every route module shares: the request context, JSON replies, zod-checked queries
// and bodies, the paging cursor, and the public-mode redaction hooks (anonymous viewers see redactDeep's form).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { MessageSummary } from "../store/sqlite/web.js";
import type { Access, Viewer } from "./guard.js";
import { HttpError, parseQuery, readBody, sendJsonBody } from "./http.js";
import { redactDeep } from "./redact.js";

/** Bytes of a request body read at most (login form, kill switch). */
export const MAX_BODY_BYTES = 8 * 1024;

/** The Content-Security-Policy an answer is served with (the policies are in server.ts): JSON and data by default, the
 * UI page, or sanitized mail HTML. */
export type CspKind = "data" | "ui" | "mail";

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path's capture groups, percent-decoded. */
  params: string[];
  viewer: Viewer;
  /** True for anonymous viewers: what they get passes through redactDeep. */
  redact: boolean;
}

export interface Route {
  method: "GET" | "POST";
  path: RegExp;
  access: Access;
  /** Defaults to "data". */
  csp?: CspKind;
  handler: (c: Ctx) => Promise<void> | void;
}

/** A 200 JSON answer (the security headers are already set by the server). */
export function json(c: Ctx, body: unknown): void {
  sendJsonBody(c.res, 200, body);
}

/** A 200 JSON answer, in its public form for anonymous viewers. */
export function viewJson(c: Ctx, body: unknown): void {
  json(c, c.redact ? redactDeep(body) : body);
}

/** The public form of one message row (its own addresses hidden, and scrubbed from its other fields). */
export function toPublicMessage(m: MessageSummary): MessageSummary {
  return redactDeep(m);
}

/** The request's query string, validated (400 naming the bad parameter). */
export function query<T extends z.ZodType>(c: Ctx, schema: T): z.infer<T> {
  return parseQuery(c.url, schema);
}

/** A JSON request body of at most MAX_BODY_BYTES, validated. */
export async function jsonBody<T extends z.ZodType>(c: Ctx, schema: T): Promise<z.infer<T>> {
  if (!/^application\/json\b/i.test(c.req.headers["content-type"] ?? "")) throw new HttpError(415, "expected Content-Type: application/json");
  let v: unknown;
  try {
    v = JSON.parse((await readBody(c.req, MAX_BODY_BYTES)).toString("utf8"));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, "body is not valid JSON");
  }
  const r = schema.safeParse(v);
  if (!r.success) throw new HttpError(400, `body: ${r.error.issues[0]?.path.join(".") || "invalid"}: ${r.error.issues[0]?.message ?? ""}`);
  return r.data;
}

/** A page of rows newest first and the `before` cursor of the next page (null when this page was not full). */
export function page<T extends { id: number }>(items: T[], limit: number): { items: T[]; next: string | null } {
  return { items, next: items.length === limit ? String(items[items.length - 1]!.id) : null };
}
