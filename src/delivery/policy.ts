// Delivery policy, pure: which recipients of a stored message get a delivery, or why not. No sockets, no store;
// the caller passes the counters (deliveries already reserved in the cap window, read from the store).
import type { Verdict } from "../analysis/types.js";
import { isActionable } from "../analysis/confidence.js";
import type { StoredKind } from "../store/types.js";

/** The cap window: caps are "per day", a rolling 24 hours. */
export const CAP_WINDOW_MS = 86_400_000;
/** Longest recipient address we deliver to (RFC 5321 path limit). */
export const MAX_RECIPIENT_CHARS = 254;

export interface DeliveryPolicyConfig {
  enabled: boolean;
  dryRun: boolean;
  dropboxCopies: boolean;
  maxPerDay: number;
  maxPerDropboxPerDay: number;
  maxPerSourcePerDay: number;
}

export interface PolicyMessage {
  id: number;
  kind: StoredKind;
  verdict: Verdict | null;
  rcptTo: string[];
  srcIp: string;
  bodyStored: boolean;
}

export interface PolicyCounters {
  /** All deliveries in the window. */
  total: number;
  /** Deliveries in the window for this message's source IP. */
  perSource: number;
  /** Deliveries in the window per (lower-case) recipient. */
  perRecipient: ReadonlyMap<string, number>;
}

export type SkipReason =
  | "disabled"
  | "kill-switch"
  | "not-relay-test"
  | "not-certain"
  | "not-matching-sensor"
  | "no-dropbox"
  | "no-body"
  | "invalid-recipient"
  | "cap-day"
  | "cap-dropbox"
  | "cap-source";

export type DeliveryMode = "relay-test" | "dropbox-copy";

export interface PolicyInput {
  message: PolicyMessage;
  config: DeliveryPolicyConfig;
  /** The persisted kill switch. */
  switchOn: boolean;
  /** Which of the message's recipients are known dropboxes (learned from relay tests), lower-case. */
  knownDropboxes: ReadonlySet<string>;
  counters: PolicyCounters;
}

export interface Decision {
  /** null: the message is not a delivery candidate at all (ordinary spam, other mail): nothing to audit. */
  mode: DeliveryMode | null;
  /** Recipients to deliver to (or, in a dry run, that would be delivered to). */
  deliver: string[];
  /** Per-recipient skips, or one entry with recipient null when the whole message is skipped. */
  skipped: Array<{ recipient: string | null; reason: SkipReason }>;
  dryRun: boolean;
}

/** A deliverable address: local@domain, domain a host name or an address literal, nothing that could break a command. */
export function isDeliverableAddress(a: string): boolean {
  if (a.length === 0 || a.length > MAX_RECIPIENT_CHARS || /[\s<>\x00-\x1f\x7f]/.test(a)) return false;
  const at = a.lastIndexOf("@");
  if (at <= 0 || at === a.length - 1) return false;
  const domain = a.slice(at + 1);
  if (domain.startsWith("[")) return /^\[(?:IPv6:[0-9a-f:.]+|[0-9.]+)\]$/i.test(domain);
  return /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i.test(domain);
}

function skipAll(mode: DeliveryMode | null, reason: SkipReason, dryRun: boolean): Decision {
  return { mode, deliver: [], skipped: [{ recipient: null, reason }], dryRun };
}

export function decide(input: PolicyInput): Decision {
  const { message: m, config: c, counters } = input;
  const v = m.verdict;
  const dryRun = c.dryRun;

  // Which mode, which candidate recipients.
  let mode: DeliveryMode;
  let candidates: string[];
  if (m.kind === "relay-test" && v?.kind === "relay-test") {
    mode = "relay-test";
    // only a relay test analysis is certain of leaves the machine (issue 15)
    if (!isActionable(v)) return skipAll(mode, "not-certain", dryRun);
    if (!v.matchesSensor) return skipAll(mode, "not-matching-sensor", dryRun);
    candidates = v.dropboxes;
  } else if (m.kind === "spam" && c.dropboxCopies) {
    const hits = m.rcptTo.map((r) => r.toLowerCase()).filter((r) => input.knownDropboxes.has(r));
    if (hits.length === 0) return { mode: null, deliver: [], skipped: [], dryRun };
    mode = "dropbox-copy";
    candidates = hits;
  } else {
    return { mode: null, deliver: [], skipped: [], dryRun };
  }

  if (!c.enabled) return skipAll(mode, "disabled", dryRun);
  if (!input.switchOn) return skipAll(mode, "kill-switch", dryRun);
  if (!m.bodyStored) return skipAll(mode, "no-body", dryRun);

  const unique = [...new Set(candidates.map((r) => r.toLowerCase()))];
  if (unique.length === 0) return skipAll(mode, "no-dropbox", dryRun);

  const decision: Decision = { mode, deliver: [], skipped: [], dryRun };
  let total = counters.total;
  let perSource = counters.perSource;
  for (const r of unique) {
    if (!isDeliverableAddress(r)) {
      decision.skipped.push({ recipient: r, reason: "invalid-recipient" });
      continue;
    }
    const perRecipient = counters.perRecipient.get(r) ?? 0;
    const reason: SkipReason | null =
      total >= c.maxPerDay ? "cap-day" : perSource >= c.maxPerSourcePerDay ? "cap-source" : perRecipient >= c.maxPerDropboxPerDay ? "cap-dropbox" : null;
    if (reason) {
      decision.skipped.push({ recipient: r, reason });
      continue;
    }
    decision.deliver.push(r);
    total++;
    perSource++;
  }
  return decision;
}
