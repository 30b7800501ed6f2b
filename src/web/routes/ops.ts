// For monitoring, open to anyone who reaches the port: /healthz, and /metrics in the Prometheus text format.
import type { Metrics } from "../metrics.js";
import { get, json, type Route } from "../route.js";

export function createOpsRoutes({ metrics }: { metrics: Metrics }): Route[] {
  return [
    get(/^\/healthz$/, "open", (c) => json(c, { status: "ok" })),
    get(/^\/metrics$/, "open", async (c) => {
      const text = await metrics.render();
      c.res.writeHead(200, { "Content-Type": metrics.registry.contentType, "Cache-Control": "no-store" });
      c.res.end(text);
    }),
  ];
}
