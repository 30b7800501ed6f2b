// The effective configuration for signed-in users, with anything secret-looking (passwords, tokens, hashes) masked.
import type { Config } from "../../config/schema.js";
import { emptyQuery } from "../http.js";
import { json, query, type Route } from "../route.js";

const SECRET_KEY = /pass|secret|token|hash|credential|apikey|api_key|private/i;

/** The effective config with anything secret-looking replaced. */
export function maskConfig(v: unknown, key = ""): unknown {
  if (SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== "object") return "********";
  if (Array.isArray(v)) return v.map((x) => maskConfig(x, key));
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskConfig(x, k)]));
  return v;
}

export function createConfigRoutes({ config }: { config: Config }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/config$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        json(c, maskConfig(config));
      },
    },
  ];
}
