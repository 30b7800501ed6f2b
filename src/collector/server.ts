// The fleet collector: sensors push batches (bearer token per sensor) into PostgreSQL, and the same /api/v1 read
// endpoints as a sensor answer across the fleet (with a `sensor` filter), plus /api/v1/sensors and the shared dropbox
// list the sensors pull. Every /api/v1 request needs a token (a sensor's or a read token); /healthz is open.
// The route groups are in routes/ (ingest, read API, dropboxes); route.ts checks the tokens.
import type { Server } from "node:http";
import type { Config } from "../config/schema.js";
import { formatHostPort, listenOn } from "../net/address.js";
import type { PoolingRule } from "../store/postgres/collector.js";
import { migratePg, openPgPool, type PgPool } from "../store/postgres/db.js";
import { createJsonServer } from "../web/http.js";
import { createTokenTable } from "./auth.js";
import { createRouter, sendJson, type Route } from "./route.js";
import { createDropboxRoutes } from "./routes/dropboxes.js";
import { createIngestRoutes } from "./routes/ingest.js";
import { createReadRoutes } from "./routes/read.js";

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
  const rule = (): PoolingRule => ({
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
      async handler({ res }) {
        try {
          await pool.query("SELECT 1");
          sendJson(res, 200, { status: "ok" });
        } catch {
          sendJson(res, 503, { status: "database unavailable" });
        }
      },
    },
    ...createIngestRoutes({ pool, maxBodyBytes: cc.maxBodyBytes }),
    ...createReadRoutes({ pool, rule }),
    ...createDropboxRoutes({ pool, rule }),
  ];

  const server: Server = createJsonServer(createRouter(routes, tokens), { name: "collector", log, sendJson, requestTimeoutMs: COLLECTOR_REQUEST_TIMEOUT_MS });

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
