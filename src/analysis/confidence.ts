// The one predicate every action asks: delivery, dropbox learning, abuse reports, feeds and the fleet act only on a
// relay test analysis is certain of. Verdicts stored before confidence existed have none: they do not act.
import type { Verdict } from "./types.js";

export function isActionable(v: Pick<Verdict, "kind" | "confidence"> | null | undefined): boolean {
  return v?.kind === "relay-test" && v.confidence === "certain";
}
