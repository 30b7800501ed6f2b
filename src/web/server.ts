// The web UI and JSON API on node:http: a route table, zod-validated queries, auth/CSRF, strict CSP on every answer.
// It reads the store and follows events; it never writes protocol state.
import { readFileSync } from "node:fs";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import type { Dispatcher } from "../events/dispatcher.js";
import { formatHostPort, isLoopback, listenOn, lookupAll, normalizeIp, parseHostPort, resolvesToLoopback, type LookupAll } from "../net/address.js";
import { ConfigError } from "../config/load.js";
import {
  MAX_WEB_LIMIT,
  attemptStats,
  listDropboxes,
  messageTextBody,
  searchMessages,
  sourceTimeline,
  topSources,
  totals,
  type MessageSummary,
  type SourceSummary,
} from "../store/sqlite/web.js";
import type { MessageRow, StoreReader } from "../store/types.js";
import { listProxyRequests } from "../store/sqlite/proxy.js";
import { listDeliveries } from "../store/sqlite/delivery.js";
import { createJsonServer, DATA_CSP, emptyQuery, HttpError, ipParam, KINDS, parseQuery, readBody, sendJsonBody, timeParam } from "./http.js";
import { createAuth, sameToken, type LoginSession } from "./auth.js";
import { createLiveHub } from "./live.js";
import { createMetrics } from "./metrics.js";
import { attachmentContent, contentDisposition, htmlPart } from "./parts.js";
import { redactDeep } from "./redact.js";
import { sanitizeMailHtml } from "./sanitize.js";

/** CSP of the UI pages: nothing but this origin, no inline script or style. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'";
/** CSP of the sanitized mail HTML shown in the sandboxed iframe: nothing may load but data: images and inline styles. */
export const MAIL_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox";
/** CSP of everything else (JSON, raw text, downloads). */
export { DATA_CSP };

export const SESSION_COOKIE = "relaytrap_session";
/** Bytes of a request body read at most (login form). */
export const MAX_BODY_BYTES = 8 * 1024;
/** Relay tests one anonymous search reads at most (it matches the redacted fields, so it cannot use the index). */
export const PUBLIC_SEARCH_SCAN_ROWS = 5_000;
/** Rows of a source's timeline returned. */
export const SOURCE_TIMELINE_LIMIT = 200;
export const DASHBOARD_TOP = 10;
/** The dashboard's "top sources" window. */
export const TOP_SOURCES_DAYS = 30;
/**
 * How long the dashboard's top sources are reused: unlike the totals they have no counters (a sliding month of rows
 * per source), so they cost a range scan (~200 ms at 1M stored messages), and a month's ranking a minute old is right.
 */
export const TOP_SOURCES_TTL_MS = 60_000;

/** The delivery kill switch, if the sensor has delivery. */
export interface KillSwitch {
  get(): boolean;
  set(engaged: boolean): Promise<void> | void;
}

export interface WebServerOptions {
  config: Config;
  reader: StoreReader;
  events: Dispatcher;
  activeSessions: () => number;
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

type Access = "open" | "public" | "admin";
type Viewer = { level: "admin"; session: LoginSession | null } | { level: "public" } | { level: "none" };

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  viewer: Viewer;
  redact: boolean;
}

interface Route {
  method: "GET" | "POST";
  path: RegExp;
  access: Access;
  handler: (c: Ctx) => Promise<void> | void;
}


// ---------- query validation

/** Whole-request time limit of the web UI/API. */
const WEB_REQUEST_TIMEOUT_MS = 60_000;
const time = timeParam;

const messagesQuery = z
  .object({
    kind: z.enum(KINDS).optional(),
    src_ip: ipParam.optional(),
    channel: z.enum(["direct", "http-connect", "socks4", "socks5"]).optional(),
    dropbox: z.string().min(1).max(320).optional(),
    q: z.string().max(500).optional(),
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
/** Outbox rows shown with one message (a message has one per dropbox recipient). */
const MAX_DELIVERIES_PER_MESSAGE = 100;
const pageQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
const proxyRequestsQuery = z
  .object({
    src_ip: ipParam.optional(),
    since: time.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
const statsQuery = z
  .object({ bucket: z.enum(["day", "week", "month"]).default("week"), since: time.optional(), until: time.optional() })
  .strict();
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }).strict();
const loginBody = z.object({ name: z.string().min(1).max(200), password: z.string().min(1).max(1000) }).strict();
const killSwitchBody = z.object({ engaged: z.boolean() }).strict();

function query<T extends z.ZodType>(c: Ctx, schema: T): z.infer<T> {
  return parseQuery(c.url, schema);
}

// ---------- small helpers

function setCommon(res: ServerResponse, csp: string): void {
  res.setHeader("Content-Security-Policy", csp);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("Cross-Origin-Opener-Policy", "same-origin");
  res.setHeader("Cross-Origin-Resource-Policy", "same-origin");
  res.setHeader("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()");
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  setCommon(res, DATA_CSP);
  sendJsonBody(res, status, body);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}


async function jsonBody<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.infer<T>> {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "expected Content-Type: application/json");
  let v: unknown;
  try {
    v = JSON.parse((await readBody(req, MAX_BODY_BYTES)).toString("utf8"));
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, "body is not valid JSON");
  }
  const r = schema.safeParse(v);
  if (!r.success) throw new HttpError(400, `body: ${r.error.issues[0]?.path.join(".") || "invalid"}: ${r.error.issues[0]?.message ?? ""}`);
  return r.data;
}

/** Host header without the port, brackets removed. */
function hostOnly(host: string | undefined): string {
  if (!host) return "";
  const hp = parseHostPort(host);
  if (hp) return hp.host.toLowerCase();
  return host.replace(/^\[|\]$/g, "").toLowerCase();
}

const SECRET_KEY = /pass|secret|token|hash|credential|apikey|api_key|private/i;

/** The effective config with anything secret-looking replaced. */
export function maskConfig(v: unknown, key = ""): unknown {
  if (SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== "object") return "********";
  if (Array.isArray(v)) return v.map((x) => maskConfig(x, key));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskConfig(x, k)]));
  return v;
}

function toPublicMessage(m: MessageSummary): MessageSummary {
  return redactDeep(m);
}

// ---------- assets

const ASSET_DIR = new URL("./assets/", import.meta.url);
const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const m = new Map<string, Asset>();
  const add = (name: string, type: string, path: string | URL) => m.set(name, { type, body: readFileSync(path) });
  add("app.js", "text/javascript; charset=utf-8", new URL("app.js", ASSET_DIR));
  add("app.css", "text/css; charset=utf-8", new URL("app.css", ASSET_DIR));
  add("uplot.esm.js", "text/javascript; charset=utf-8", require.resolve("uplot/dist/uPlot.esm.js"));
  add("uplot.min.css", "text/css; charset=utf-8", require.resolve("uplot/dist/uPlot.min.css"));
  return m;
}

const UI_PAGES = /^\/(?:|login|messages|messages\/\d+|sessions\/[A-Za-z0-9_.:-]+|sources\/[0-9A-Fa-f.:]+|dropboxes|deliveries|proxy|config)$/;

// ---------- the server

export function createWebServer(o: WebServerOptions): WebServer {
  let topCache: { at: number; items: SourceSummary[] } | null = null;
  const recentTopSources = (now: number): SourceSummary[] => {
    if (topCache === null || now - topCache.at > TOP_SOURCES_TTL_MS) {
      topCache = { at: now, items: topSources(reader, now - TOP_SOURCES_DAYS * 86_400_000, DASHBOARD_TOP) };
    }
    return topCache.items;
  };
  const log = o.log ?? (() => {});
  const { config, reader } = o;
  const auth = createAuth({ users: config.web.users, sessionTtlMs: config.web.sessionTtlMs, attemptsPerMinute: config.web.loginAttemptsPerMinute });
  /** Without users (loopback only) state-changing requests still need this token, read from /api/v1/me. */
  const localCsrf = randomBytes(24).toString("base64url");
  const hub = createLiveHub({
    maxPublicClients: config.web.maxPublicLiveClients,
    maxAdminClients: config.web.maxAdminLiveClients,
    publicEvent: (e) => publicEvent(e),
  });
  o.events.addSink(hub.sink);
  const metrics = createMetrics({ events: o.events, activeSessions: o.activeSessions, sseClients: () => hub.clients, analysisGivenUp: o.analysisGivenUp });
  const assets = loadAssets();
  const indexHtml = readFileSync(new URL("index.html", ASSET_DIR));

  function viewerOf(req: IncomingMessage): Viewer {
    if (!auth.enabled) return { level: "admin", session: null };
    const s = auth.session(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
    if (s) return { level: "admin", session: s };
    return config.web.public ? { level: "public" } : { level: "none" };
  }

  function csrfTokenOf(v: Viewer): string | null {
    if (v.level !== "admin") return null;
    return v.session ? v.session.csrf : localCsrf;
  }

  /** A browser names the page a request came from in Origin; one from another site is refused (login CSRF, and a
   * second check beside the token). Clients that send no Origin (curl, scripts) are judged by the token alone. */
  function requireSameOrigin(c: Ctx): void {
    const origin = c.req.headers.origin;
    if (origin === undefined) return;
    let ok = false;
    try {
      ok = new URL(origin).host === c.req.headers.host;
    } catch {}
    if (!ok) throw new HttpError(403, "cross-origin request refused");
  }

  function requireCsrf(c: Ctx): void {
    requireSameOrigin(c);
    const token = csrfTokenOf(c.viewer);
    const sent = c.req.headers["x-csrf-token"];
    if (token === null || !sameToken(typeof sent === "string" ? sent : undefined, token)) throw new HttpError(403, "missing or wrong CSRF token");
  }

  /**
   * Search for anonymous viewers: matches only what they are shown (the redacted subject and addresses), never the
   * hidden local parts, so it cannot be an oracle for them. It reads relay tests newest first, at most
   * PUBLIC_SEARCH_SCAN_ROWS of them a request; `next` resumes where the read stopped.
   */
  function publicSearch(q: z.infer<typeof messagesQuery>): { items: MessageSummary[]; next: string | null } {
    const words = (q.q ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "");
    const dropbox = q.dropbox?.toLowerCase();
    const items: MessageSummary[] = [];
    let before = q.before;
    let scanned = 0;
    while (items.length < q.limit && scanned < PUBLIC_SEARCH_SCAN_ROWS) {
      const want = Math.min(MAX_WEB_LIMIT, PUBLIC_SEARCH_SCAN_ROWS - scanned);
      const batch = searchMessages(reader, { kind: "relay-test", srcIp: q.src_ip, channel: q.channel, since: q.since, until: q.until, before, limit: want });
      for (const m of batch) {
        scanned++;
        before = m.id;
        const p = toPublicMessage(m);
        const text = [p.subject ?? "", p.mailFrom ?? "", ...p.rcptTo].join("\n").toLowerCase();
        if (!words.every((w) => text.includes(w))) continue;
        if (dropbox !== undefined && !p.rcptTo.some((r) => r.toLowerCase() === dropbox)) continue;
        items.push(p);
        if (items.length === q.limit) return { items, next: String(p.id) };
      }
      if (batch.length < want) return { items, next: null };
    }
    return { items, next: before === undefined ? null : String(before) };
  }

  /** What an anonymous viewer's live feed gets for an event: a stored relay test as the public list shows it, and
   * nothing else (no sessions, no spam, no source addresses the public pages do not show). */
  function publicEvent(e: Record<string, unknown>): Record<string, unknown> | null {
    if (e.eventid !== "smtp.message.stored" || e.kind !== "relay-test" || typeof e.message !== "number") return null;
    const m = reader.getMessage(e.message);
    if (!m || m.kind !== "relay-test") return null;
    const p = toPublicMessage({
      id: m.id, receivedAt: m.receivedAt, srcIp: m.srcIp, mailFrom: m.mailFrom, rcptTo: m.rcptTo, subject: m.subject, kind: m.kind,
      size: m.size, sessionId: m.sessionId, bodyStored: m.bodyStored, channel: m.channel,
    });
    return { eventid: e.eventid, timestamp: e.timestamp, message: p.id, kind: p.kind, src_ip: p.srcIp, subject: p.subject, mail_from: p.mailFrom, rcpt_count: p.rcptTo.length };
  }

  function getMessage(c: Ctx, id: string): MessageRow {
    const m = reader.getMessage(Number(id));
    if (!m) throw new HttpError(404, "no such message");
    if (c.viewer.level !== "admin" && m.kind !== "relay-test") throw new HttpError(404, "no such message");
    return m;
  }

  /** Whether the message page offers the HTML view: the flag stored when the message was parsed. Parsing the raw here
   * cost ~170 ms of the sensor's thread per view of a 10 MB message, so only rows stored before the flag (NULL) are
   * parsed, as they always were, until `relaytrap reanalyze` records it for them. */
  async function hasHtmlPart(m: MessageRow): Promise<boolean> {
    if (m.hasHtml !== null) return m.hasHtml;
    const raw = reader.getRaw(m.id);
    return raw !== null && (await htmlPart(raw)) !== null;
  }

  function getRawOf(id: number): Buffer {
    const raw = reader.getRaw(id);
    if (!raw) throw new HttpError(404, "the body of this message was not kept");
    return raw;
  }

  const routes: Route[] = [
    {
      method: "GET",
      path: /^\/healthz$/,
      access: "open",
      handler: (c) => sendJson(c.res, 200, { status: "ok" }),
    },
    {
      method: "GET",
      path: /^\/metrics$/,
      access: "open",
      async handler(c) {
        const text = await metrics.render();
        setCommon(c.res, DATA_CSP);
        c.res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" });
        c.res.end(text);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/me$/,
      access: "open",
      handler(c) {
        query(c, emptyQuery);
        sendJson(c.res, 200, {
          user: c.viewer.level === "admin" ? (c.viewer.session?.user ?? null) : null,
          level: c.viewer.level,
          authEnabled: auth.enabled,
          public: config.web.public,
          csrf: csrfTokenOf(c.viewer),
        });
      },
    },
    {
      method: "POST",
      path: /^\/api\/v1\/login$/,
      access: "open",
      async handler(c) {
        requireSameOrigin(c);
        if (!auth.enabled) throw new HttpError(409, "no users are configured; no login needed");
        const body = await jsonBody(c.req, loginBody);
        const client = normalizeIp(c.req.socket.remoteAddress);
        const r = await auth.login(client, body.name, body.password);
        if (r.result === "limited") {
          c.res.setHeader("Retry-After", "60");
          throw new HttpError(429, "too many failed logins; try again in a minute");
        }
        if (r.result !== "ok") throw new HttpError(401, "wrong user name or password");
        const secure = (c.req.socket as { encrypted?: boolean }).encrypted === true || c.req.headers["x-forwarded-proto"] === "https";
        c.res.setHeader(
          "Set-Cookie",
          `${SESSION_COOKIE}=${r.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(config.web.sessionTtlMs / 1000)}${secure ? "; Secure" : ""}`,
        );
        sendJson(c.res, 200, { user: r.session.user, csrf: r.session.csrf });
      },
    },
    {
      method: "POST",
      path: /^\/api\/v1\/logout$/,
      access: "admin",
      handler(c) {
        requireCsrf(c);
        auth.logout(parseCookies(c.req.headers.cookie).get(SESSION_COOKIE));
        c.res.setHeader("Set-Cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
        sendJson(c.res, 200, { ok: true });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/summary$/,
      access: "public",
      handler(c) {
        query(c, emptyQuery);
        const now = Date.now();
        const body = {
          // all time: counters kept by the store's triggers (migration 009), one row, no scan
          totals: totals(reader),
          last24h: totals(reader, now - 86_400_000),
          topSources: c.viewer.level === "admin" ? recentTopSources(now) : [],
          topDropboxes: listDropboxes(reader, DASHBOARD_TOP).items.filter((d) => d.kind === "relay-test"),
          activeSessions: o.activeSessions(),
        };
        sendJson(c.res, 200, c.redact ? redactDeep(body) : body);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages$/,
      access: "public",
      handler(c) {
        const q = query(c, messagesQuery);
        const publicOnly = c.viewer.level !== "admin";
        if (publicOnly && q.kind !== undefined && q.kind !== "relay-test") throw new HttpError(403, "the public view shows relay tests only");
        if (publicOnly && (q.q !== undefined || q.dropbox !== undefined)) {
          sendJson(c.res, 200, publicSearch(q));
          return;
        }
        const items = searchMessages(reader, {
          kind: publicOnly ? "relay-test" : q.kind,
          srcIp: q.src_ip,
          channel: q.channel,
          dropbox: q.dropbox,
          q: q.q,
          since: q.since,
          until: q.until,
          before: q.before,
          limit: q.limit,
        });
        const next = items.length === q.limit ? String(items[items.length - 1]!.id) : null;
        sendJson(c.res, 200, { items: c.redact ? items.map(toPublicMessage) : items, next });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})$/,
      access: "public",
      async handler(c) {
        query(c, emptyQuery);
        const m = getMessage(c, c.params[0]!);
        const session = reader.getSession(m.sessionId);
        const body = {
          ...m,
          textBody: messageTextBody(reader, m.id),
          hasHtml: m.bodyStored && (await hasHtmlPart(m)),
          attachments: m.attachments.map((a, i) => ({ ...a, index: i })),
          session: session ? { id: session.id, startedAt: session.startedAt, tls: session.tls, helo: session.helo } : null,
          delivery: listDeliveries(reader, { limit: MAX_DELIVERIES_PER_MESSAGE, messageId: m.id }),
        };
        sendJson(c.res, 200, c.redact ? redactDeep(body) : body);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})\/raw$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        const m = getMessage(c, c.params[0]!);
        const raw = getRawOf(m.id);
        setCommon(c.res, DATA_CSP);
        c.res.writeHead(200, {
          "Content-Type": "text/plain; charset=utf-8",
          "Content-Disposition": "inline",
          "Cache-Control": "no-store",
          "Content-Length": raw.length,
        });
        c.res.end(raw);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})\/html$/,
      access: "admin",
      async handler(c) {
        query(c, emptyQuery);
        const m = getMessage(c, c.params[0]!);
        const html = await htmlPart(getRawOf(m.id));
        if (html === null) throw new HttpError(404, "this message has no HTML part");
        const doc =
          '<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"></head><body>' +
          sanitizeMailHtml(html) +
          "</body></html>";
        setCommon(c.res, MAIL_CSP);
        c.res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(doc) });
        c.res.end(doc);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})\/attachments\/(\d{1,4})$/,
      access: "admin",
      async handler(c) {
        query(c, emptyQuery);
        const m = getMessage(c, c.params[0]!);
        const a = await attachmentContent(getRawOf(m.id), Number(c.params[1]));
        if (!a) throw new HttpError(404, "no such attachment");
        setCommon(c.res, DATA_CSP);
        c.res.writeHead(200, {
          "Content-Type": "application/octet-stream",
          "Content-Disposition": contentDisposition("attachment", a.filename),
          "Cache-Control": "no-store",
          "Content-Length": a.content.length,
        });
        c.res.end(a.content);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/sessions\/([A-Za-z0-9_.:-]{1,128})$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        const s = reader.getSession(c.params[0]!);
        if (!s) throw new HttpError(404, "no such session");
        sendJson(c.res, 200, { ...s, messageList: searchMessages(reader, { sessionId: s.id, limit: 100 }) });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/sources\/([^/]{1,64})$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        const ip = ipParam.safeParse(c.params[0]);
        if (!ip.success) throw new HttpError(400, "expected an IP address");
        const t = sourceTimeline(reader, ip.data, SOURCE_TIMELINE_LIMIT);
        if (t.firstSeen === null) throw new HttpError(404, "this address has not been seen");
        sendJson(c.res, 200, t);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/deliveries$/,
      access: "admin",
      handler(c) {
        const q = query(c, pageQuery);
        const items = listDeliveries(reader, { limit: q.limit, before: q.before });
        const next = items.length === q.limit ? String(items[items.length - 1]!.id) : null;
        sendJson(c.res, 200, { items, next });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/proxy\/requests$/,
      access: "admin",
      handler(c) {
        const q = query(c, proxyRequestsQuery);
        const items = listProxyRequests(reader, { srcIp: q.src_ip, before: q.before, limit: q.limit, since: q.since });
        const next = items.length === q.limit ? String(items[items.length - 1]!.id) : null;
        sendJson(c.res, 200, { items, next });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/dropboxes$/,
      access: "public",
      handler(c) {
        const q = query(c, listQuery);
        const d = listDropboxes(reader, q.limit);
        sendJson(c.res, 200, c.redact ? redactDeep(d) : d);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/stats\/attempts$/,
      access: "public",
      handler(c) {
        const q = query(c, statsQuery);
        const until = q.until ?? Date.now() + 1;
        const since = q.since ?? 0;
        if (since >= until) throw new HttpError(400, "since must be before until");
        sendJson(c.res, 200, { bucket: q.bucket, series: attemptStats(reader, q.bucket, since, until) });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/events$/,
      access: "public",
      handler(c) {
        query(c, emptyQuery);
        setCommon(c.res, DATA_CSP);
        if (!hub.attach(c.res, { level: c.viewer.level === "admin" ? "admin" : "public" })) throw new HttpError(503, "too many live clients");
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/config$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        sendJson(c.res, 200, maskConfig(config));
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/delivery\/kill-switch$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        sendJson(c.res, 200, o.killSwitch ? { available: true, engaged: o.killSwitch.get() } : { available: false, engaged: null });
      },
    },
    {
      method: "POST",
      path: /^\/api\/v1\/delivery\/kill-switch$/,
      access: "admin",
      async handler(c) {
        requireCsrf(c);
        const body = await jsonBody(c.req, killSwitchBody);
        if (!o.killSwitch) throw new HttpError(501, "this sensor has no delivery to switch off");
        await o.killSwitch.set(body.engaged);
        sendJson(c.res, 200, { available: true, engaged: o.killSwitch.get() });
      },
    },
    {
      method: "GET",
      path: /^\/assets\/([a-z.]+)$/,
      access: "open",
      handler(c) {
        const a = assets.get(c.params[0]!);
        if (!a) throw new HttpError(404, "not found");
        setCommon(c.res, DATA_CSP);
        c.res.writeHead(200, { "Content-Type": a.type, "Cache-Control": "no-cache", "Content-Length": a.body.length });
        c.res.end(a.body);
      },
    },
    {
      method: "GET",
      path: UI_PAGES,
      access: "open",
      handler(c) {
        setCommon(c.res, UI_CSP);
        c.res.setHeader("X-Frame-Options", "SAMEORIGIN");
        c.res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Content-Length": indexHtml.length });
        c.res.end(indexHtml);
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://relaytrap.invalid");
    } catch {
      throw new HttpError(400, "bad request target");
    }
    // Without users the UI trusts loopback; refuse other Host names so DNS rebinding cannot reach it.
    if (!auth.enabled) {
      const h = hostOnly(req.headers.host);
      if (!(h === "localhost" || isIP(h) !== 0)) throw new HttpError(421, "unexpected Host header");
    }
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
      const viewer = viewerOf(req);
      if (r.access === "admin" && viewer.level !== "admin") throw new HttpError(viewer.level === "none" && auth.enabled ? 401 : 403, "login required");
      if (r.access === "public" && viewer.level === "none") throw new HttpError(401, "login required");
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
