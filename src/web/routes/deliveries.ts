// Outbound delivery for signed-in users: the outbox (newest first) and the kill switch that stops all delivery.
import { z } from "zod";
import type { Config } from "../../config/schema.js";
import { deliveryState } from "../../delivery/state.js";
import type { StoreReader } from "../../store/types.js";
import { listDeliveries } from "../../store/sqlite/delivery.js";
import type { Guard } from "../guard.js";
import { emptyQuery, HttpError } from "../http.js";
import { get, json, jsonBody, page, post, query, type Route } from "../route.js";

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

export function createDeliveryRoutes({ reader, killSwitch, guard, delivery }: { reader: StoreReader; killSwitch: KillSwitch | null; guard: Guard; delivery: Config["delivery"] }): Route[] {
  // The switch and the delivery state (what `relaytrap delivery status` prints); no switch: no delivery here at all.
  const answer = () => {
    if (!killSwitch) return { available: false, engaged: null, state: null };
    const engaged = killSwitch.get();
    return { available: true, engaged, state: deliveryState(delivery, engaged) };
  };
  return [
    get(/^\/api\/v1\/deliveries$/, "admin", (c) => {
      const q = query(c, deliveriesQuery);
      json(c, page(listDeliveries(reader, { limit: q.limit, before: q.before }), q.limit));
    }),
    get(/^\/api\/v1\/delivery\/kill-switch$/, "admin", (c) => {
      query(c, emptyQuery);
      json(c, answer());
    }),
    post(/^\/api\/v1\/delivery\/kill-switch$/, "admin", async (c) => {
      guard.requireCsrf(c);
      const body = await jsonBody(c, killSwitchBody);
      if (!killSwitch) throw new HttpError(501, "this sensor has no delivery to switch off");
      await killSwitch.set(body.engaged);
      json(c, answer());
    }),
  ];
}
