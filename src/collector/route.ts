// What a collector route is, and the router that runs them: path match, bearer token check per route (open, any
// token, a sensor's token), percent-decoded path groups. The web UI's routes (src/web/route.ts) know viewers, not
// sensor tokens, so the collector keeps this small set of its own.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Principal, TokenTable } from "./auth.js";
import { DATA_CSP, HttpError, sendJsonBody } from "../web/http.js";

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path's capture groups, percent-decoded. */
  params: string[];
  /** Who presented the token; null on an open route. */
  who: Principal | null;
}

export interface Route {
  method: "GET" | "POST";
  path: RegExp;
  /** "open": no token; "read": any token; "sensor": a sensor's token. */
  access: "open" | "read" | "sensor";
  handler: (c: Ctx) => Promise<void>;
}

/** A JSON answer with the collector's security headers (data only: nothing in it may run or be framed). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader("Content-Security-Policy", DATA_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  sendJsonBody(res, status, body);
}

/** The request handler for a set of routes whose paths do not overlap: 404 for an unknown path, 405 for a known one
 * asked with another method, 401/403 for a missing, wrong or insufficient token. */
export function createRouter(routes: Route[], tokens: TokenTable): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async function handle(req, res) {
    let u: URL;
    try {
      u = new URL(req.url ?? "/", "http://collector.invalid");
    } catch {
      throw new HttpError(400, "bad request target");
    }
    const method = req.method === "HEAD" ? "GET" : req.method;
    let pathMatched = false;
    for (const r of routes) {
      const m = r.path.exec(u.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      let who: Principal | null = null;
      if (r.access !== "open") {
        who = tokens.authenticate(req.headers.authorization);
        if (!who) {
          res.setHeader("WWW-Authenticate", 'Bearer realm="relaytrap-collector"');
          throw new HttpError(401, "missing or wrong bearer token");
        }
        if (r.access === "sensor" && who.kind !== "sensor") throw new HttpError(403, "a read token cannot push");
      }
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p ?? ""));
      } catch {
        throw new HttpError(400, "bad percent-encoding in path");
      }
      await r.handler({ req, res, url: u, params, who });
      return;
    }
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? "method not allowed" : "not found");
  };
}
