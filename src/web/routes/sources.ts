// One source address for signed-in users: when it was first and last seen, and its timeline of sessions and messages.
import type { StoreReader } from "../../store/types.js";
import { sourceTimeline } from "../../store/sqlite/web.js";
import { emptyQuery, HttpError, ipParam } from "../http.js";
import { json, query, type Route } from "../route.js";

/** Rows of a source's timeline returned. */
export const SOURCE_TIMELINE_LIMIT = 200;

export function createSourceRoutes({ reader }: { reader: StoreReader }): Route[] {
  return [
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
        json(c, t);
      },
    },
  ];
}
