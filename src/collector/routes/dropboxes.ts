// The shared dropbox list (what sensors pull, and readers browse with its known / confirmed flags) and the sources
// that named one dropbox, pooled across the fleet by the collector's rule.
import { z } from "zod";
import { dropboxSources, listFleetDropboxes, type PoolingRule } from "../../store/postgres/collector.js";
import type { PgPool } from "../../store/postgres/db.js";
import { DROPBOXES_PATH } from "../../fleet/protocol.js";
import { emptyQuery, parseQuery } from "../../web/http.js";
import { sendJson, type Route } from "../route.js";

/** Most shared dropboxes one answer lists (sensors pull the whole list). */
export const MAX_DROPBOX_LIST = 100_000;

const dropboxQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_DROPBOX_LIST).default(100),
    min_score: z.coerce.number().int().min(0).max(100).default(0),
    kind: z.enum(["relay-test", "recurring"]).optional(),
    known: z.enum(["true", "false"]).transform((v) => v === "true").optional(),
  })
  .strict();

export function createDropboxRoutes({ pool, rule }: { pool: PgPool; rule: () => PoolingRule }): Route[] {
  return [
    {
      method: "GET",
      path: new RegExp(`^${DROPBOXES_PATH}$`),
      access: "read",
      async handler({ res, url, who }) {
        const q = parseQuery(url, dropboxQuery);
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
      async handler({ res, url, params }) {
        parseQuery(url, emptyQuery);
        sendJson(res, 200, { address: params[0]!.toLowerCase(), items: await dropboxSources(pool, params[0]!) });
      },
    },
  ];
}
