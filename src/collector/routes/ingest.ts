// The ingest route: a sensor pushes a batch (its own token, JSON, at most collector.maxBodyBytes), validated and made
// fit for PostgreSQL (parse.ts), then stored idempotently; a revoked sensor is refused.
import { normalizeIp } from "../../net/address.js";
import { ingestBatch, sensorRevoked } from "../../store/postgres/collector.js";
import type { PgPool } from "../../store/postgres/db.js";
import { INGEST_PATH } from "../../fleet/protocol.js";
import { HttpError, readBody } from "../../web/http.js";
import { parseIngest } from "../parse.js";
import { sendJson, type Route } from "../route.js";

export function createIngestRoutes({ pool, maxBodyBytes }: { pool: PgPool; maxBodyBytes: number }): Route[] {
  return [
    {
      method: "POST",
      path: new RegExp(`^${INGEST_PATH}$`),
      access: "sensor",
      async handler({ req, res, who }) {
        if (!/^application\/json\b/i.test(req.headers["content-type"] ?? "")) throw new HttpError(415, "expected Content-Type: application/json");
        const body = await readBody(req, maxBodyBytes);
        let v: unknown;
        try {
          v = JSON.parse(body.toString("utf8"));
        } catch {
          throw new HttpError(400, "body is not valid JSON");
        }
        const p = parseIngest(v);
        if (!p.ok) throw new HttpError(400, p.error);
        const sensor = (who as { kind: "sensor"; sensor: string }).sensor;
        if (await sensorRevoked(pool, sensor)) throw new HttpError(403, `sensor ${sensor} is revoked`);
        const result = await ingestBatch(pool, sensor, normalizeIp(req.socket.remoteAddress), p.batch);
        sendJson(res, 200, { ok: true, sensor, ...result });
      },
    },
  ];
}
