// Open-proxy traffic for signed-in users: the requests clients sent through the proxy listeners, newest first.
import { z } from "zod";
import type { StoreReader } from "../../store/types.js";
import { listProxyRequests } from "../../store/sqlite/proxy.js";
import { ipParam, timeParam } from "../http.js";
import { json, page, query, type Route } from "../route.js";

const proxyRequestsQuery = z
  .object({
    src_ip: ipParam.optional(),
    since: timeParam.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();

export function createProxyRoutes({ reader }: { reader: StoreReader }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/proxy\/requests$/,
      access: "admin",
      handler(c) {
        const q = query(c, proxyRequestsQuery);
        json(c, page(listProxyRequests(reader, { srcIp: q.src_ip, before: q.before, limit: q.limit, since: q.since }), q.limit));
      },
    },
  ];
}
