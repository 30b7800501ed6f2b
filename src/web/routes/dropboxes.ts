// The dropboxes: addresses relay tests ask to be delivered to, most tests first; anonymous viewers see them redacted.
import { z } from "zod";
import type { StoreReader } from "../../store/types.js";
import { listDropboxes } from "../../store/sqlite/web.js";
import { query, viewJson, type Route } from "../route.js";

const dropboxesQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }).strict();

export function createDropboxRoutes({ reader }: { reader: StoreReader }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/dropboxes$/,
      access: "public",
      handler(c) {
        const q = query(c, dropboxesQuery);
        viewJson(c, listDropboxes(reader, q.limit));
      },
    },
  ];
}
