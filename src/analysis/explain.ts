// `relaytrap analyze --explain` and reanalyze's summary: a verdict's evidence trail and confidence in words.
import { isActionable } from "./confidence.js";
import { signatureByName } from "./signatures.js";
import type { Verdict } from "./types.js";

/** The evidence trail of a verdict in words: which field, which decoder, what it decoded, why this confidence. */
export function explainVerdict(v: Verdict): string {
  const out: string[] = [];
  out.push(`verdict: ${v.kind}, confidence ${v.confidence ?? "none"} (score ${v.score} of 100, a relay test from 50)`);
  for (const r of v.reasons ?? []) out.push(`  why: ${r}`);
  if (v.kind === "relay-test") {
    out.push(`tested IPs: ${v.testedIps.length ? v.testedIps.join(", ") : "none named (the test names only a host, or the IP is the one connected to)"}${v.matchesSensor ? " — the sensor's own address" : ""}`);
    out.push(`dropboxes: ${v.dropboxes.length ? v.dropboxes.join(", ") : "none"}`);
  }
  if (v.tester) {
    const sig = signatureByName(v.tester);
    out.push(`tester: ${v.tester}${sig ? ` (${sig.kind}; recognised by ${sig.recognisedBy}; source: ${sig.source})` : ""}`);
  }
  out.push("evidence:");
  if (v.evidence.length === 0) out.push("  (none)");
  for (const e of v.evidence) {
    const what = e.decoder === "signature" ? `tester signature "${e.field}" matched ${JSON.stringify(e.found)}` : `${e.field}: ${e.decoder} found ${JSON.stringify(e.found)}`;
    const ip = e.ip !== undefined ? ` -> ${e.ip}${e.reversed ? " (octets reversed)" : ""}` : "";
    const alt = e.alternatives?.length ? ` (also read as ${e.alternatives.join(", ")})` : "";
    const w = e.weight !== undefined ? `, weight ${e.weight}` : "";
    out.push(`  - ${what}${ip}${alt}${w}${e.certain ? ", certain evidence" : ""}`);
  }
  out.push(
    isActionable(v)
      ? "acts: yes — delivery (when enabled, within caps), dropbox learning, abuse reports, feeds and the fleet"
      : "acts: no — only a certain relay test is delivered, learned from, reported or shared; this one is shown only",
  );
  return out.join("\n") + "\n";
}

/** A verdict's level for reanalyze's up/down count. Stored relay tests without a confidence (older analyzers) rank as likely. */
export type VerdictLevel = "certain" | "likely" | "relay-test (no confidence)" | "possible" | "none";
const RANK: Record<VerdictLevel, number> = { certain: 4, likely: 3, "relay-test (no confidence)": 3, possible: 1, none: 0 };

export function verdictLevel(kind: string, confidence: string | null | undefined): VerdictLevel {
  if (kind === "relay-test") return confidence === "certain" ? "certain" : confidence === "likely" ? "likely" : "relay-test (no confidence)";
  return confidence === "possible" ? "possible" : "none";
}

/** +1 up, -1 down, 0 same. */
export function compareLevels(before: VerdictLevel, after: VerdictLevel): number {
  return Math.sign(RANK[after] - RANK[before]);
}
