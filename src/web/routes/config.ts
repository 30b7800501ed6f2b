// The effective configuration for signed-in users, secrets masked the way check-config masks them (config/mask.ts).
import { maskSecrets } from "../../config/mask.js";
import type { Config } from "../../config/schema.js";
import { emptyQuery } from "../http.js";
import { get, json, query, type Route } from "../route.js";

export function createConfigRoutes({ config }: { config: Config }): Route[] {
  return [
    get(/^\/api\/v1\/config$/, "admin", (c) => {
      query(c, emptyQuery);
      json(c, maskSecrets(config));
    }),
  ];
}
