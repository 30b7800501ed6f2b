// `delivery status|on|off`: the state the sensor delivers by, and its kill switch.
import { UsageError, parse, configOf } from "./args.js";

export async function cmdDelivery(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action !== "on" && action !== "off" && action !== "status") throw new UsageError("delivery: expected on, off or status");
  const { values } = parse(rest, { "data-dir": { type: "string" }, config: { type: "string" } });
  const config = configOf(values);
  const { setDeliverySwitch, readDeliveryStatus } = await import("../store/sqlite/delivery.js");
  if (action !== "status") {
    // Persisted in the store: a running sensor reads it before every send.
    setDeliverySwitch(config.dataDir, action);
    const note = action === "on" && !config.delivery.enabled ? " (config delivery.enabled is false, which wins: nothing is delivered)" : "";
    process.stdout.write(`relaytrap: delivery switched ${action}${note}\n`);
    return;
  }
  const s = readDeliveryStatus(config.dataDir);
  const { deliveryState } = await import("../delivery/state.js");
  // The same state the API and the Config page show, from the config the sensor runs with (--config / RELAYTRAP_*).
  const out = { ...deliveryState(config.delivery, s.switch === "off"), switch: s.switch, queued: s.queued, last24h: s.last24h, dropboxes: s.dropboxes };
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}
