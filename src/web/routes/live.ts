// The live feed (Server-Sent Events): anonymous viewers and signed-in users draw from separate pools of the hub, and
// anonymous viewers get only publicLiveEvent's form of stored relay tests.
import type { StoreReader } from "../../store/types.js";
import { emptyQuery, HttpError } from "../http.js";
import type { LiveHub } from "../live.js";
import { query, toPublicMessage, type Route } from "../route.js";

/** What an anonymous viewer's live feed gets for an event: a stored relay test as the public list shows it, and
 * nothing else (no sessions, no spam, no source addresses the public pages do not show). */
export function publicLiveEvent(reader: StoreReader, e: Record<string, unknown>): Record<string, unknown> | null {
  if (e.eventid !== "smtp.message.stored" || e.kind !== "relay-test" || typeof e.message !== "number") return null;
  const m = reader.getMessage(e.message);
  if (!m || m.kind !== "relay-test") return null;
  const p = toPublicMessage({
    id: m.id, receivedAt: m.receivedAt, srcIp: m.srcIp, mailFrom: m.mailFrom, rcptTo: m.rcptTo, subject: m.subject, kind: m.kind,
    size: m.size, sessionId: m.sessionId, bodyStored: m.bodyStored, channel: m.channel,
  });
  return { eventid: e.eventid, timestamp: e.timestamp, message: p.id, kind: p.kind, src_ip: p.srcIp, subject: p.subject, mail_from: p.mailFrom, rcpt_count: p.rcptTo.length };
}

export function createLiveRoutes({ hub }: { hub: LiveHub }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/events$/,
      access: "public",
      handler(c) {
        query(c, emptyQuery);
        if (!hub.attach(c.res, { level: c.viewer.level === "admin" ? "admin" : "public" })) throw new HttpError(503, "too many live clients");
      },
    },
  ];
}
