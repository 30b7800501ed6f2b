// Spam campaigns for signed-in users: the spam of the last days grouped (src/analysis/campaigns.ts) into a list, and
// one campaign's page (its template, subjects, recipients, sources with their country and AS, and its messages).
import { groupCampaigns, type Campaign } from "../../analysis/campaigns.js";
import type { Enricher } from "../../enrich/index.js";
import { campaignInputs } from "../../store/sqlite/insights.js";
import { messageSummaries } from "../../store/sqlite/web.js";
import type { StoreReader } from "../../store/types.js";
import { emptyQuery, HttpError } from "../http.js";
import { get, json, query, type Route } from "../route.js";
import { withGeo } from "../geo.js";

/** The spam window grouped into campaigns. */
export const CAMPAIGN_DAYS = 7;
/** Newest spam messages read per grouping (the grouping is in memory). */
export const CAMPAIGN_MAX_MESSAGES = 20_000;
/** How long a grouping is reused (it reads up to CAMPAIGN_MAX_MESSAGES rows with their text). */
export const CAMPAIGNS_TTL_MS = 60_000;
/** Campaigns listed, and messages shown on a campaign's page. */
export const CAMPAIGN_LIST_LIMIT = 100;
export const CAMPAIGN_PAGE_MESSAGES = 200;

export function createCampaignRoutes({ reader, enricher }: { reader: StoreReader; enricher?: Enricher | null }): Route[] {
  let cache: { at: number; items: Campaign[] } | null = null;
  const campaigns = (now: number): Campaign[] => {
    if (cache === null || now - cache.at > CAMPAIGNS_TTL_MS) {
      cache = { at: now, items: groupCampaigns(campaignInputs(reader, now - CAMPAIGN_DAYS * 86_400_000, CAMPAIGN_MAX_MESSAGES)) };
    }
    return cache.items;
  };
  return [
    get(/^\/api\/v1\/campaigns$/, "admin", (c) => {
      query(c, emptyQuery);
      const items = campaigns(Date.now())
        .slice(0, CAMPAIGN_LIST_LIMIT)
        .map(({ messageIds: _, recipients, srcIps, subjects, ...x }) => ({ ...x, subject: subjects[0] ?? null, recipients: recipients.slice(0, 3) }));
      json(c, { days: CAMPAIGN_DAYS, items });
    }),
    get(/^\/api\/v1\/campaigns\/(\d{1,15})$/, "admin", (c) => {
      query(c, emptyQuery);
      const id = Number(c.params[0]);
      const k = campaigns(Date.now()).find((x) => x.id === id);
      if (!k) throw new HttpError(404, "no such campaign (campaigns are regrouped from the last days' spam)");
      // the page's messages in their list form, newest first
      const messages = messageSummaries(reader, k.messageIds.slice(0, CAMPAIGN_PAGE_MESSAGES));
      const { messageIds, srcIps, ...rest } = k;
      json(c, {
        ...rest,
        messageIds: messageIds.slice(0, CAMPAIGN_PAGE_MESSAGES),
        srcIps: withGeo(enricher, srcIps.map((s) => ({ srcIp: s.ip, messages: s.messages }))),
        items: withGeo(enricher, messages),
      });
    }),
  ];
}
