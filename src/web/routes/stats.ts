// The dashboard's numbers: the summary (totals, last 24 h, top sources for signed-in users, top dropboxes, live
// sessions) and relay-attempt counts per day, week or month.
import { z } from "zod";
import type { StoreReader } from "../../store/types.js";
import { attemptStats, listDropboxes, topSources, totals, type SourceSummary } from "../../store/sqlite/web.js";
import { emptyQuery, HttpError, timeParam } from "../http.js";
import { json, query, viewJson, type Route } from "../route.js";

/** Top sources and dropboxes the dashboard lists. */
export const DASHBOARD_TOP = 10;
/** The dashboard's "top sources" window. */
export const TOP_SOURCES_DAYS = 30;
/**
 * How long the dashboard's top sources are reused: unlike the totals they have no counters (a sliding month of rows
 * per source), so they cost a range scan (~200 ms at 1M stored messages), and a month's ranking a minute old is right.
 */
export const TOP_SOURCES_TTL_MS = 60_000;

const statsQuery = z
  .object({ bucket: z.enum(["day", "week", "month"]).default("week"), since: timeParam.optional(), until: timeParam.optional() })
  .strict();

export function createStatsRoutes({ reader, activeSessions }: { reader: StoreReader; activeSessions: () => number }): Route[] {
  let topCache: { at: number; items: SourceSummary[] } | null = null;
  const recentTopSources = (now: number): SourceSummary[] => {
    if (topCache === null || now - topCache.at > TOP_SOURCES_TTL_MS) {
      topCache = { at: now, items: topSources(reader, now - TOP_SOURCES_DAYS * 86_400_000, DASHBOARD_TOP) };
    }
    return topCache.items;
  };
  return [
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
          activeSessions: activeSessions(),
        };
        viewJson(c, body);
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
        json(c, { bucket: q.bucket, series: attemptStats(reader, q.bucket, since, until) });
      },
    },
  ];
}
