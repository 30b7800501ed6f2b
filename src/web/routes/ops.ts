// For monitoring, open to anyone who reaches the port: /healthz, and /metrics in the Prometheus text format.
import type { Metrics } from "../metrics.js";
import { json, type Route } from "../route.js";

export function createOpsRoutes({ metrics }: { metrics: Metrics }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/healthz$/,
      access: "open",
      handler: (c) => json(c, { status: "ok" }),
    },
    {
      method: "GET",
      path: /^\/metrics$/,
      access: "open",
      async handler(c) {
        const text = await metrics.render();
        c.res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" });
        c.res.end(text);
      },
    },
  ];
}
