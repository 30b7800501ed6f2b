// The delivery state in one place: `relaytrap delivery status`, the API (/api/v1/delivery/kill-switch) and the Config
// page all show this, computed the way the policy decides (config first, then the kill switch, then dry run).

export type DeliveryEffective = "off (config)" | "stopped (kill switch)" | "dry run" | "on";

export interface DeliveryState {
  /** delivery.enabled in the config the sensor runs with: false wins over everything. */
  configEnabled: boolean;
  /** The persisted kill switch (`relaytrap delivery off`, the Config page's button): engaged stops all delivery. */
  killSwitchEngaged: boolean;
  /** delivery.dryRun: decide and log, send nothing. */
  dryRun: boolean;
  /** What actually happens to a deliverable relay test now. */
  effective: DeliveryEffective;
  /** True only when mail really leaves the machine (effective "on"). */
  sending: boolean;
}

export function deliveryState(config: { enabled: boolean; dryRun: boolean }, killSwitchEngaged: boolean): DeliveryState {
  const effective: DeliveryEffective = !config.enabled ? "off (config)" : killSwitchEngaged ? "stopped (kill switch)" : config.dryRun ? "dry run" : "on";
  return { configEnabled: config.enabled, killSwitchEngaged, dryRun: config.dryRun, effective, sending: effective === "on" };
}
