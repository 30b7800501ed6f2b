// Outbound delivery for signed-in users: the outbox (newest first) and the kill switch that stops all delivery.
import { z } from "zod";
import type { StoreReader } from "../../store/types.js";
import { listDeliveries } from "../../store/sqlite/delivery.js";
import type { Guard } from "../guard.js";
import { emptyQuery, HttpError } from "../http.js";
import { json, jsonBody, page, query, type Route } from "../route.js";

/** The delivery kill switch, if the sensor has delivery. */
export interface KillSwitch {
  get(): boolean;
  set(engaged: boolean): Promise<void> | void;
}

const deliveriesQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();
const killSwitchBody = z.object({ engaged: z.boolean() }).strict();

export function createDeliveryRoutes({ reader, killSwitch, guard }: { reader: StoreReader; killSwitch: KillSwitch | null; guard: Guard }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/deliveries$/,
      access: "admin",
      handler(c) {
        const q = query(c, deliveriesQuery);
        json(c, page(listDeliveries(reader, { limit: q.limit, before: q.before }), q.limit));
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/delivery\/kill-switch$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        json(c, killSwitch ? { available: true, engaged: killSwitch.get() } : { available: false, engaged: null });
      },
    },
    {
      method: "POST",
      path: /^\/api\/v1\/delivery\/kill-switch$/,
      access: "admin",
      async handler(c) {
        guard.requireCsrf(c);
        const body = await jsonBody(c, killSwitchBody);
        if (!killSwitch) throw new HttpError(501, "this sensor has no delivery to switch off");
        await killSwitch.set(body.engaged);
        json(c, { available: true, engaged: killSwitch.get() });
      },
    },
  ];
}
