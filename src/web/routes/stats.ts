// The dashboard's numbers: the summary (totals, last 24 h, top sources for signed-in users, top dropboxes, live
// sessions), relay-attempt counts per day, week or month, and for signed-in users the top-N tables (countries, ASes,
// HELO names, testers, AUTH credentials tried).
import { z } from "zod";
import type { StoreReader } from "../../store/types.js";
import { attemptStats, listDropboxes, topSources, totals, type SourceSummary } from "../../store/sqlite/web.js";
import { topCredentials, topHelos, topTesters, type CredentialRow, type TopRow } from "../../store/sqlite/insights.js";
import type { Enricher } from "../../enrich/index.js";
import { geoTops, type GeoCount } from "../geo.js";
import { emptyQuery, HttpError, timeParam } from "../http.js";
import { get, json, query, viewJson, type Route } from "../route.js";

/** Top sources and dropboxes the dashboard lists. */
export const DASHBOARD_TOP = 10;
/** The dashboard's "top sources" window. */
export const TOP_SOURCES_DAYS = 30;
/**
 * How long the dashboard's top sources are reused: unlike the totals they have no counters (a sliding month of rows
 * per source), so they cost a range scan (~200 ms at 1M stored messages), and a month's ranking a minute old is right.
 */
export const TOP_SOURCES_TTL_MS = 60_000;
/** Sources (busiest first) the top countries and ASes are counted over. */
export const GEO_TOP_SOURCES = 5_000;

interface Tops {
  at: number;
  sources: SourceSummary[];
  countries: GeoCount[];
  asns: GeoCount[];
  helos: TopRow[];
  testers: TopRow[];
  credentials: CredentialRow[];
}

const statsQuery = z
  .object({ bucket: z.enum(["day", "week", "month"]).default("week"), since: timeParam.optional(), until: timeParam.optional() })
  .strict();

export function createStatsRoutes({ reader, activeSessions, enricher }: { reader: StoreReader; activeSessions: () => number; enricher?: Enricher | null }): Route[] {
  let topCache: Tops | null = null;
  // One read of the month for all the top-N tables, reused like the top sources (the geo counts run over the busiest
  // GEO_TOP_SOURCES sources, in memory); the answer is not kept while the databases still load.
  const tops = (now: number): Tops => {
    if (topCache === null || now - topCache.at > TOP_SOURCES_TTL_MS) {
      const since = now - TOP_SOURCES_DAYS * 86_400_000;
      const sources = topSources(reader, since, GEO_TOP_SOURCES);
      const t: Tops = {
        at: now,
        sources: sources.slice(0, DASHBOARD_TOP),
        ...geoTops(enricher, sources, DASHBOARD_TOP),
        helos: topHelos(reader, since, DASHBOARD_TOP),
        testers: topTesters(reader, since, DASHBOARD_TOP),
        credentials: topCredentials(reader, since, DASHBOARD_TOP),
      };
      if (enricher && !enricher.loaded) return t;
      topCache = t;
    }
    return topCache;
  };
  const recentTopSources = (now: number) => tops(now).sources.map((s) => ({ ...s, geo: enricher?.lookup(s.ip) ?? null }));
  return [
    get(/^\/api\/v1\/summary$/, "public", (c) => {
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
    }),
    get(/^\/api\/v1\/stats\/top$/, "admin", (c) => {
      query(c, emptyQuery);
      const t = tops(Date.now());
      json(c, { days: TOP_SOURCES_DAYS, countries: t.countries, asns: t.asns, helos: t.helos, testers: t.testers, credentials: t.credentials });
    }),
    get(/^\/api\/v1\/stats\/attempts$/, "public", (c) => {
      const q = query(c, statsQuery);
      const until = q.until ?? Date.now() + 1;
      const since = q.since ?? 0;
      if (since >= until) throw new HttpError(400, "since must be before until");
      json(c, { bucket: q.bucket, series: attemptStats(reader, q.bucket, since, until) });
    }),
  ];
}
