// The sensor's own host names as analysis compares them (role mail to postmaster@<name> is mail to the sensor): one
// normalisation for live ingest and the CLI's analyze / reanalyze.

/** Lower case, no trailing dot, no empty names. */
export function sensorNameSet(names: readonly string[]): ReadonlySet<string> {
  return new Set(names.map((n) => n.toLowerCase().replace(/\.$/, "")).filter((n) => n !== ""));
}
