// HTTP pieces shared by the sensor's web server and the fleet collector: typed errors, query validation with zod,
// JSON responses, bounded request bodies.
import { isIP } from "node:net";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { z } from "zod";
import { normalizeIp } from "../net/address.js";

/** CSP of every JSON or plain-data response: nothing may load or run, even if a browser renders it. */
export const DATA_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export const KINDS = ["relay-test", "spam", "other", "unknown"] as const;

/** ISO-8601 or milliseconds since the epoch, as a number. */
export const timeParam = z.string().transform((s, ctx) => {
  const t = /^\d{1,15}$/.test(s) ? Number(s) : Date.parse(s);
  if (Number.isNaN(t)) {
    ctx.addIssue({ code: "custom", message: "expected an ISO-8601 time or milliseconds since the epoch" });
    return z.NEVER;
  }
  return t;
});

export const ipParam = z.string().refine((s) => isIP(s) !== 0, { message: "expected an IP address" }).transform((s) => normalizeIp(s));

export const emptyQuery = z.object({}).strict();

/** Validates a URL's query string; a repeated, unknown or bad parameter is a 400 naming it. */
export function parseQuery<T extends z.ZodType>(url: URL, schema: T): z.infer<T> {
  const raw: Record<string, string> = {};
  for (const [k, v] of url.searchParams) {
    if (k in raw) throw new HttpError(400, `query parameter ${k} given twice`);
    raw[k] = v;
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    if (issue?.code === "unrecognized_keys") throw new HttpError(400, `unknown query parameter: ${issue.keys.join(", ")}`);
    throw new HttpError(400, `${issue?.path.join(".") || "query"}: ${issue?.message ?? "invalid"}`);
  }
  return r.data;
}

export function sendJsonBody(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(data) });
  res.end(data);
}

/** The request body, refused with 413 past `max` bytes (declared or actual). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) throw new HttpError(413, "request body too large");
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    if (n > max) throw new HttpError(413, "request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Timeouts and header limits of relaytrap's HTTP servers (slowloris-safe). */
export const HTTP_HEADERS_TIMEOUT_MS = 20_000;
export const HTTP_KEEP_ALIVE_TIMEOUT_MS = 5_000;
export const HTTP_MAX_HEADERS = 100;

/**
 * A node:http server around a handler that may throw: an HttpError becomes its status and message as JSON, anything
 * else a logged 500 "internal error"; a request whose body was not read closes the connection.
 */
export function createJsonServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  o: { name: string; log: (line: string) => void; sendJson: (res: ServerResponse, status: number, body: unknown) => void; requestTimeoutMs: number },
): Server {
  const server = createServer((req, res) => {
    req.on("error", () => {});
    res.on("error", () => {});
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status === 500) o.log(`relaytrap: ${o.name}: ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // An unread request body must not keep the connection (or be parsed as the next request).
      if (!req.complete) res.setHeader("Connection", "close");
      o.sendJson(res, status, { error: status === 500 ? "internal error" : (err as Error).message });
    });
  });
  server.headersTimeout = HTTP_HEADERS_TIMEOUT_MS;
  server.requestTimeout = o.requestTimeoutMs;
  server.keepAliveTimeout = HTTP_KEEP_ALIVE_TIMEOUT_MS;
  server.maxHeadersCount = HTTP_MAX_HEADERS;
  return server;
}
