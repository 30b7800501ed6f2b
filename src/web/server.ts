// The web UI and JSON API on node:http: composes the route modules (routes/, one per resource), checks access, sets the
// security headers (strict CSP) on every answer and maps errors to JSON. It reads the store; it never writes protocol state.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Config } from "../config/schema.js";
import type { Dispatcher } from "../events/dispatcher.js";
import { formatHostPort, isLoopback, listenOn, lookupAll, parseHostPort, resolvesToLoopback, type LookupAll } from "../net/address.js";
import { ConfigError } from "../config/load.js";
import type { StoreReader } from "../store/types.js";
import type { Enricher } from "../enrich/index.js";
import { createJsonServer, DATA_CSP, HttpError, sendJsonBody } from "./http.js";
import { createAuth } from "./auth.js";
import { createGuard } from "./guard.js";
import { createAuthRoutes } from "./routes/auth.js";
import { createConfigRoutes } from "./routes/config.js";
import { createDeliveryRoutes, type KillSwitch } from "./routes/deliveries.js";
import { createDropboxRoutes } from "./routes/dropboxes.js";
import { createLiveRoutes, publicLiveEvent } from "./routes/live.js";
import { createMessageRoutes } from "./routes/messages.js";
import { createOpsRoutes } from "./routes/ops.js";
import { createProxyRoutes } from "./routes/proxy.js";
import { createSessionRoutes } from "./routes/sessions.js";
import { createSourceRoutes } from "./routes/sources.js";
import { createStatsRoutes } from "./routes/stats.js";
import { createCampaignRoutes } from "./routes/campaigns.js";
import { createUiRoutes } from "./routes/ui.js";
import type { Ctx, CspKind, Route } from "./route.js";
import { createLiveHub } from "./live.js";
import { createMetrics } from "./metrics.js";

/** CSP of the UI pages: nothing but this origin, no inline script or style. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'";
/** CSP of the sanitized mail HTML shown in the sandboxed iframe: nothing may load but data: images and inline styles. */
export const MAIL_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox";
/** CSP of everything else (JSON, raw text, downloads). */
export { DATA_CSP };

export type { KillSwitch } from "./routes/deliveries.js";

export interface WebServerOptions {
  config: Config;
  reader: StoreReader;
  events: Dispatcher;
  activeSessions: () => number;
  /** Offline country/AS of source addresses shown on lists, source pages and the dashboard; null: none. */
  enricher?: Enricher | null;
  /** Messages the analysis pool gave up (for the metric); absent where there is no pool. */
  analysisGivenUp?: () => number;
  killSwitch?: KillSwitch | null;
  log?: (line: string) => void;
  /** Resolves the listen host (injected in tests). */
  lookup?: LookupAll;
}

export interface WebServer {
  listen(hostPort: string): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

/** Whole-request time limit of the web UI/API. */
const WEB_REQUEST_TIMEOUT_MS = 60_000;

// ---------- security headers

const CSP: Record<CspKind, string> = { data: DATA_CSP, ui: UI_CSP, mail: MAIL_CSP };

/** The headers every answer carries; the UI page may also be framed by this origin (the message view's iframe). */
function setSecurityHeaders(res: ServerResponse, kind: CspKind): void {
  res.setHeader("Content-Security-Policy", CSP[kind]);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()");
  if (kind === "ui") res.setHeader("X-Frame-Options", "SAMEORIGIN");
}

/** Error answers (and anything else the server itself sends): JSON under the data CSP. */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  setSecurityHeaders(res, "data");
  sendJsonBody(res, status, body);
}

// ---------- the server

export function createWebServer(o: WebServerOptions): WebServer {
  const log = o.log ?? (() => {});
  const { config, reader } = o;
  const auth = createAuth({ users: config.web.users, sessionTtlMs: config.web.sessionTtlMs, attemptsPerMinute: config.web.loginAttemptsPerMinute });
  const guard = createGuard({ auth, publicView: config.web.public });
  const hub = createLiveHub({
    maxPublicClients: config.web.maxPublicLiveClients,
    maxAdminClients: config.web.maxAdminLiveClients,
    publicEvent: (e) => publicLiveEvent(reader, e),
  });
  o.events.addSink(hub.sink);
  const metrics = createMetrics({ events: o.events, activeSessions: o.activeSessions, sseClients: () => hub.clients, analysisGivenUp: o.analysisGivenUp });

  // Each module registers its own routes (like Hono sub-apps mounted with app.route()); their paths do not overlap.
  const routes: Route[] = [
    ...createUiRoutes(),
    ...createOpsRoutes({ metrics }),
    ...createAuthRoutes({ guard, publicView: config.web.public, sessionTtlMs: config.web.sessionTtlMs }),
    ...createStatsRoutes({ reader, activeSessions: o.activeSessions, enricher: o.enricher ?? null }),
    ...createCampaignRoutes({ reader, enricher: o.enricher ?? null }),
    ...createMessageRoutes({ reader, enricher: o.enricher ?? null }),
    ...createSessionRoutes({ reader }),
    ...createSourceRoutes({ reader, enricher: o.enricher ?? null }),
    ...createDropboxRoutes({ reader }),
    ...createDeliveryRoutes({ reader, killSwitch: o.killSwitch ?? null, guard, delivery: o.config.delivery }),
    ...createProxyRoutes({ reader, enricher: o.enricher ?? null }),
    ...createLiveRoutes({ hub }),
    ...createConfigRoutes({ config }),
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://relaytrap.invalid");
    } catch {
      throw new HttpError(400, "bad request target");
    }
    guard.requireKnownHost(req);
    const method = req.method === "HEAD" ? "GET" : req.method;
    let pathMatched = false;
    for (const r of routes) {
      const m = r.path.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      let params: string[];
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p ?? ""));
      } catch {
        throw new HttpError(400, "bad percent-encoding in path");
      }
      const viewer = guard.viewerOf(req);
      guard.requireAccess(r.access, viewer);
      setSecurityHeaders(res, r.csp ?? "data");
      const ctx: Ctx = { req, res, url, params, viewer, redact: viewer.level === "public" };
      await r.handler(ctx);
      return;
    }
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? "method not allowed" : "not found");
  }

  const server: Server = createJsonServer(handle, { name: "web", log, sendJson, requestTimeoutMs: WEB_REQUEST_TIMEOUT_MS });

  return {
    async listen(hostPort) {
      // Without users every request is an admin's: the host must resolve to loopback only, and the socket is bound to
      // the address that was checked (not to the name, which could resolve elsewhere a moment later).
      const hp = parseHostPort(hostPort);
      if (!hp) throw new Error(`bad web listen address ${hostPort}`);
      let resolved: { loopback: boolean; addresses: string[] };
      try {
        resolved = await resolvesToLoopback(hp.host, o.lookup ?? lookupAll);
      } catch (err) {
        throw new ConfigError("webListen", `cannot resolve ${hp.host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      if (!resolved.loopback && !auth.enabled) {
        throw new ConfigError("web.users", `webListen ${hostPort} resolves to ${resolved.addresses.join(", ")}, not only loopback: configure web.users`);
      }
      const a = await listenOn(server, formatHostPort(resolved.addresses[0]!, hp.port), "web");
      if (!isLoopback(a.boundHost) && !auth.enabled) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        throw new ConfigError("web.users", `webListen ${hostPort} is bound to ${a.boundHost}, not loopback: configure web.users`);
      }
      return { address: formatHostPort(a.boundHost, a.port), port: a.port };
    },
    async close() {
      hub.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
