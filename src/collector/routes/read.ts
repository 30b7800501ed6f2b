// The fleet read API: the same /api/v1 answers as a sensor's (summary, messages, attempt stats) across the fleet with a
// `sensor` filter, and the list of sensors. Any token may read.
import { z } from "zod";
import {
  fleetAttemptStats,
  fleetTotals,
  getFleetMessage,
  listFleetDropboxes,
  listFleetMessages,
  listSensors,
  MAX_FLEET_LIMIT,
  type PoolingRule,
} from "../../store/postgres/collector.js";
import type { PgPool } from "../../store/postgres/db.js";
import { emptyQuery, HttpError, ipParam, KINDS, parseQuery, timeParam } from "../../web/http.js";
import { page } from "../../web/route.js";
import { sendJson, type Route } from "../route.js";

/** Relay-test dropboxes the summary lists. */
const SUMMARY_TOP_DROPBOXES = 10;
const DAY_MS = 86_400_000;

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

export function createReadRoutes({ pool, rule }: { pool: PgPool; rule: () => PoolingRule }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/sensors$/,
      access: "read",
      async handler({ res, url }) {
        parseQuery(url, emptyQuery);
        sendJson(res, 200, { items: await listSensors(pool) });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/summary$/,
      access: "read",
      async handler({ res, url }) {
        parseQuery(url, emptyQuery);
        const now = Date.now();
        sendJson(res, 200, {
          totals: await fleetTotals(pool),
          last24h: await fleetTotals(pool, now - DAY_MS),
          topDropboxes: (await listFleetDropboxes(pool, rule(), SUMMARY_TOP_DROPBOXES)).filter((d) => d.kind === "relay-test"),
        });
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages$/,
      access: "read",
      async handler({ res, url }) {
        const q = parseQuery(url, messagesQuery);
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
        sendJson(res, 200, page(items, q.limit));
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})$/,
      access: "read",
      async handler({ res, url, params }) {
        parseQuery(url, emptyQuery);
        const m = await getFleetMessage(pool, Number(params[0]));
        if (!m) throw new HttpError(404, "no such message");
        sendJson(res, 200, m);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/stats\/attempts$/,
      access: "read",
      async handler({ res, url }) {
        const q = parseQuery(url, statsQuery);
        const until = q.until ?? Date.now() + 1;
        const since = q.since ?? 0;
        if (since >= until) throw new HttpError(400, "since must be before until");
        sendJson(res, 200, { bucket: q.bucket, series: await fleetAttemptStats(pool, q.bucket, since, until, q.sensor) });
      },
    },
  ];
}
