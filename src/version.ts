// relaytrap's own version (from package.json), reported to the collector with every push.
import { readFileSync } from "node:fs";

let cached: string | null = null;

export function relaytrapVersion(): string {
  if (cached !== null) return cached;
  cached = "unknown";
  for (const rel of ["../../package.json", "../package.json"]) {
    try {
      const v = (JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string });
      if (v.name === "relaytrap" && typeof v.version === "string") {
        cached = v.version;
        break;
      }
    } catch {}
  }
  return cached;
}
