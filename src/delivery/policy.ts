// Delivery policy, pure: which recipients of a stored message get a delivery, or why not. No sockets, no store;
// the caller passes the counters (deliveries already reserved in the cap window, read from the store).
// Three gates, in order: the verdict (verdictGate), the content (size, HTML, attachments), then per recipient the caps,
// which count canonical mailboxes (canonicalMailbox), so no spelling of an address gets it a cap of its own.
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import type { Verdict } from "../analysis/types.js";
import { canonicalIp } from "../net/ip-scope.js";
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
  /** Largest stored message delivered (relay tests are small); larger ones are skipped, never cut. */
  maxMessageBytes: number;
  /** Deliver messages with an HTML part. */
  allowHtml: boolean;
  /** Deliver messages with attachments. */
  allowAttachments: boolean;
}

export interface PolicyMessage {
  id: number;
  kind: StoredKind;
  verdict: Verdict | null;
  rcptTo: string[];
  srcIp: string;
  bodyStored: boolean;
  /** Size of the stored message in bytes. */
  size: number;
  /** Whether the parse found an HTML part; null when unknown (parse failed or predates the column): counts as yes. */
  hasHtml: boolean | null;
  /** Attachments the parse found; null when unknown: counts as some. */
  attachments: number | null;
}

export interface PolicyCounters {
  /** All deliveries in the window. */
  total: number;
  /** Deliveries in the window for this message's source IP. */
  perSource: number;
  /** Deliveries in the window per recipient as stored (any spelling: decide() folds them by canonicalMailbox). */
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
  | "too-big"
  | "html"
  | "attachments"
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

const DOT_ATOM = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i;

/** The local part unquoted when quoting changes nothing ("same" -> same), else re-quoted minimally; null if malformed. */
function canonicalLocal(local: string): string | null {
  if (!local.startsWith('"')) return DOT_ATOM.test(local) ? local : null;
  const m = /^"((?:[^"\\\r\n]|\\[\x20-\x7e])*)"$/.exec(local);
  if (!m) return null;
  const text = m[1]!.replace(/\\(.)/g, "$1");
  return DOT_ATOM.test(text) ? text : `"${text.replace(/(["\\])/g, "\\$1")}"`;
}

/** The domain in ASCII lower case without a trailing dot (IDN to punycode), an address literal in canonical form. */
function canonicalDomain(domain: string): string | null {
  if (domain.startsWith("[")) {
    const m = /^\[(ipv6:)?([^\]]*)\]$/i.exec(domain);
    if (!m || isIP(m[2]!) !== (m[1] ? 6 : 4)) return null;
    const ip = canonicalIp(m[2]!);
    if (ip === null) return null;
    return ip.includes(":") ? `[IPv6:${ip}]` : `[${ip}]`;
  }
  const ascii = domainToASCII(domain.replace(/\.$/, "")).toLowerCase();
  return /^[a-z0-9-]+(?:\.[a-z0-9-]+)*$/.test(ascii) ? ascii : null;
}

/** The mailbox an address names, in one spelling: local part unquoted where quoting is redundant and lower-cased
 * (mailbox case is the receiver's business; for a cap, treating it as case-insensitive is the conservative choice),
 * domain in ASCII lower case (IDN to punycode), no trailing dot, address literals canonical. null when malformed.
 * Caps count these, and a delivery goes to this form. */
export function canonicalMailbox(address: string): string | null {
  if (address.length === 0 || address.length > MAX_RECIPIENT_CHARS * 2) return null;
  const at = address.lastIndexOf("@");
  if (at <= 0 || at === address.length - 1) return null;
  const local = canonicalLocal(address.slice(0, at));
  const domain = canonicalDomain(address.slice(at + 1));
  if (local === null || domain === null) return null;
  return `${local.toLowerCase()}@${domain}`;
}

/** THE verdict-level gate: is this verdict evidence enough to deliver its relay test? null: yes; else the skip reason.
 * Only relay-test verdicts reach it. */
export function verdictGate(v: Verdict): SkipReason | null {
  // Only a relay test the analysis is certain of leaves the machine (issue 15).
  if (!isActionable(v)) return "not-certain";
  if (!v.matchesSensor) return "not-matching-sensor";
  return null;
}

/** The content gate: a delivery carries a small plain message unless the operator allowed more. */
function contentGate(m: PolicyMessage, c: DeliveryPolicyConfig): SkipReason | null {
  if (m.size > c.maxMessageBytes) return "too-big";
  if (!c.allowHtml && m.hasHtml !== false) return "html";
  if (!c.allowAttachments && m.attachments !== 0) return "attachments";
  return null;
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
    const weak = verdictGate(v);
    if (weak) return skipAll(mode, weak, dryRun);
    candidates = v.dropboxes;
  } else if (m.kind === "spam" && c.dropboxCopies) {
    const hits = m.rcptTo.filter((r) => input.knownDropboxes.has(r.toLowerCase()) || input.knownDropboxes.has(canonicalMailbox(r) ?? ""));
    if (hits.length === 0) return { mode: null, deliver: [], skipped: [], dryRun };
    mode = "dropbox-copy";
    candidates = hits;
  } else {
    return { mode: null, deliver: [], skipped: [], dryRun };
  }

  if (!c.enabled) return skipAll(mode, "disabled", dryRun);
  if (!input.switchOn) return skipAll(mode, "kill-switch", dryRun);
  if (!m.bodyStored) return skipAll(mode, "no-body", dryRun);
  const content = contentGate(m, c);
  if (content) return skipAll(mode, content, dryRun);
  if (candidates.length === 0) return skipAll(mode, "no-dropbox", dryRun);

  // Reserved deliveries per mailbox, whatever spelling each was stored under.
  const reserved = new Map<string, number>();
  for (const [r, n] of counters.perRecipient) {
    const key = canonicalMailbox(r) ?? r.toLowerCase();
    reserved.set(key, (reserved.get(key) ?? 0) + n);
  }

  const decision: Decision = { mode, deliver: [], skipped: [], dryRun };
  const seen = new Set<string>();
  let total = counters.total;
  let perSource = counters.perSource;
  for (const raw of candidates) {
    const r = canonicalMailbox(raw);
    if (r !== null && seen.has(r)) continue;
    if (r === null || !isDeliverableAddress(r)) {
      if (!seen.has(raw.toLowerCase())) decision.skipped.push({ recipient: raw.toLowerCase(), reason: "invalid-recipient" });
      seen.add(raw.toLowerCase());
      continue;
    }
    seen.add(r);
    const perRecipient = reserved.get(r) ?? 0;
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
