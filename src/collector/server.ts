// The fleet collector: sensors push batches (bearer token per sensor) into PostgreSQL, and the same /api/v1 read
// endpoints as a sensor answer across the fleet (with a `sensor` filter), plus /api/v1/sensors and the shared dropbox
// list the sensors pull. Every /api/v1 request needs a token (a sensor's or a read token); /healthz is open.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { z } from "zod";
import type { Config } from "../config/schema.js";
import { formatHostPort, listenOn, normalizeIp } from "../net/address.js";
import {
  dropboxSources,
  fleetAttemptStats,
  fleetTotals,
  getFleetMessage,
  ingestBatch,
  listFleetDropboxes,
  listFleetMessages,
  listSensors,
  MAX_FLEET_LIMIT,
  sensorRevoked,
} from "../store/postgres/collector.js";
import { migratePg, openPgPool, type PgPool } from "../store/postgres/db.js";
import { createTokenTable, type Principal } from "./auth.js";
import { DROPBOXES_PATH, INGEST_PATH } from "../fleet/protocol.js";
import { parseIngest } from "./parse.js";
import { createJsonServer, DATA_CSP, emptyQuery, HttpError, ipParam, KINDS, parseQuery, readBody, sendJsonBody, timeParam } from "../web/http.js";

/** Most shared dropboxes one answer lists (sensors pull the whole list). */
export const MAX_DROPBOX_LIST = 100_000;
/** Whole-request time limit of the collector (ingest batches can be large). */
const COLLECTOR_REQUEST_TIMEOUT_MS = 120_000;
const DAY_MS = 86_400_000;

export interface Collector {
  pool: PgPool;
  listen(hostPort?: string): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}

export interface CollectorOptions {
  config: Config;
  log?: (line: string) => void;
  /** Overrides config.collector.databaseUrl. */
  databaseUrl?: string;
}

const time = timeParam;
const sensorParam = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "expected a sensor name");

const messagesQuery = z
  .object({
    sensor: sensorParam.optional(),
    kind: z.enum(KINDS).optional(),
    src_ip: ipParam.optional(),
    dropbox: z.string().min(1).max(320).optional(),
    q: z.string().max(500).optional(),
    since: time.optional(),
    until: time.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_FLEET_LIMIT).default(50),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
const statsQuery = z
  .object({ bucket: z.enum(["day", "week", "month"]).default("week"), since: time.optional(), until: time.optional(), sensor: sensorParam.optional() })
  .strict();
const dropboxQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_DROPBOX_LIST).default(100),
    min_score: z.coerce.number().int().min(0).max(100).default(0),
    kind: z.enum(["relay-test", "recurring"]).optional(),
    known: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  })
  .strict();

const query = parseQuery;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.setHeader("Content-Security-Policy", DATA_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  sendJsonBody(res, status, body);
}


interface Route {
  method: "GET" | "POST";
  path: RegExp;
  /** "open": no token; "read": any token; "sensor": a sensor's token. */
  access: "open" | "read" | "sensor";
  handler: (req: IncomingMessage, res: ServerResponse, url: URL, params: string[], who: Principal | null) => Promise<void>;
}

export async function createCollector(o: CollectorOptions): Promise<Collector> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + "\n"));
  const cc = o.config.collector;
  const url = o.databaseUrl ?? cc.databaseUrl;
  if (!url) throw new Error("collector: no database URL (--database-url or collector.databaseUrl)");
  if (cc.tokens.length === 0) throw new Error("collector: no sensor tokens configured (collector.tokens, RELAYTRAP_COLLECTOR_TOKENS=sensorA:tokenA,...)");
  const tokens = createTokenTable(cc.tokens, cc.readTokens);
  const pool = openPgPool(url);
  try {
    const applied = await migratePg(pool);
    for (const m of applied) log(`relaytrap: collector: applied migration ${m}`);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const rule = () => ({
    since: Date.now() - cc.dropboxWindowDays * DAY_MS,
    minMessages: cc.recurringMinMessages,
    minSources: cc.recurringMinSources,
    minSensors: cc.dropboxMinSensors,
  });

  const routes: Route[] = [
    {
      method: "GET",
      path: /^\/healthz$/,
      access: "open",
      async handler(_req, res) {
        try {
          await pool.query("SELECT 1");
          sendJson(res, 200, { status: "ok" });
        } catch {
          sendJson(res, 503, { status: "database unavailable" });
        }
      },
    },
    {
      method: "POST",
      path: new RegExp(`^${INGEST_PATH}$`),
      access: "sensor",
      async handler(req, res, _url, _params, who) {
        if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "expected Content-Type: application/json");
        const body = await readBody(req, cc.maxBodyBytes);
        let v: unknown;
        try {
          v = JSON.parse(body.toString("utf8"));
        } catch {
          throw new HttpError(400, "body is not valid JSON");
        }
        const p = parseIngest(v);
        if (!p.ok) throw new HttpError(400, p.error);
        const sensor = (who as { kind: "sensor"; sensor: string }).sensor;
        if (await sensorRevoked(pool, sensor)) throw new HttpError(403, `sensor ${sensor} is revoked`);
        const result = await ingestBatch(pool, sensor, normalizeIp(req.socket.remoteAddress), p.batch);
        sendJson(res, 200, { ok: true, sensor, ...result });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/sensors$/,
      access: "read",
      async handler(_req, res, u) {
        query(u, emptyQuery);
        sendJson(res, 200, { items: await listSensors(pool) });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/summary$/,
      access: "read",
      async handler(_req, res, u) {
        query(u, emptyQuery);
        const now = Date.now();
        sendJson(res, 200, {
          totals: await fleetTotals(pool),
          last24h: await fleetTotals(pool, now - DAY_MS),
          topDropboxes: (await listFleetDropboxes(pool, rule(), 10)).filter((d) => d.kind === "relay-test"),
        });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages$/,
      access: "read",
      async handler(_req, res, u) {
        const q = query(u, messagesQuery);
        const items = await listFleetMessages(pool, {
          sensor: q.sensor,
          kind: q.kind,
          srcIp: q.src_ip,
          dropbox: q.dropbox,
          q: q.q,
          since: q.since,
          until: q.until,
          before: q.before,
          limit: q.limit,
        });
        const next = items.length === q.limit ? String(items[items.length - 1]!.id) : null;
        sendJson(res, 200, { items, next });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})$/,
      access: "read",
      async handler(_req, res, u, params) {
        query(u, emptyQuery);
        const m = await getFleetMessage(pool, Number(params[0]));
        if (!m) throw new HttpError(404, "no such message");
        sendJson(res, 200, m);
      },
    },
    {
      method: "GET",
      path: new RegExp(`^${DROPBOXES_PATH}$`),
      access: "read",
      async handler(_req, res, u, _params, who) {
        const q = query(u, dropboxQuery);
        // Sensors use what they pull (classification, dropbox copies): they get known dropboxes only, whatever their
        // min_score; readers see every candidate with its known / confirmed flags.
        const onlyKnown = who?.kind === "sensor" || q.known === true;
        let items = await listFleetDropboxes(pool, rule(), q.kind ? MAX_DROPBOX_LIST : q.limit, q.min_score, onlyKnown);
        if (q.kind) items = items.filter((d) => d.kind === q.kind).slice(0, q.limit);
        sendJson(res, 200, { source: "fleet", items });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/dropboxes\/([^/]{1,320})\/sources$/,
      access: "read",
      async handler(_req, res, u, params) {
        query(u, emptyQuery);
        sendJson(res, 200, { address: params[0]!.toLowerCase(), items: await dropboxSources(pool, params[0]!) });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/stats\/attempts$/,
      access: "read",
      async handler(_req, res, u) {
        const q = query(u, statsQuery);
        const until = q.until ?? Date.now() + 1;
        const since = q.since ?? 0;
        if (since >= until) throw new HttpError(400, "since must be before until");
        sendJson(res, 200, { bucket: q.bucket, series: await fleetAttemptStats(pool, q.bucket, since, until, q.sensor) });
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      await r.handler(req, res, u, params, who);
      return;
    }
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? "method not allowed" : "not found");
  }

  const server: Server = createJsonServer(handle, { name: "collector", log, sendJson, requestTimeoutMs: COLLECTOR_REQUEST_TIMEOUT_MS });

  return {
    pool,
    async listen(hostPort = cc.listen) {
      const a = await listenOn(server, hostPort, "collector");
      return { address: formatHostPort(a.boundHost, a.port), port: a.port };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.end().catch(() => {});
    },
  };
}
