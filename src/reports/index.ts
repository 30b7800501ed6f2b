// Drafting an abuse report for one stored message: the facts from the sensor's store, the recipient (given, or by
// RDAP with --to auto), and the ARF or X-ARF text. Prints; sending is the operator's call.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { relaytrapVersion } from "../version.js";
import type { Config } from "../config/schema.js";
import { defaultHostname } from "../config/load.js";
import { classifyIp } from "../net/ip-scope.js";
import { searchMessages } from "../store/sqlite/web.js";
import type { StoreReader } from "../store/types.js";
import { isActionable } from "../analysis/confidence.js";
import { buildArf } from "./arf.js";
import { createRdap } from "./rdap.js";
import type { ReportInput, ReportKind, ReportMessage } from "./types.js";
import { buildXarf } from "./xarf.js";

export const REDACTION_KEY_FILE = "report-redaction.key";
/** Other sources of a dropbox listed in its report. */
export const MAX_OTHER_SOURCES = 20;

/** The per-sensor key of RFC 6590 redaction, created on first use (0600). */
export function redactionKey(dataDir: string): string {
  const path = join(dataDir, REDACTION_KEY_FILE);
  try {
    const k = readFileSync(path, "utf8").trim();
    if (k.length >= 32) return k;
  } catch {}
  const k = randomBytes(32).toString("hex");
  writeFileSync(path, k + "\n", { mode: 0o600 });
  return k;
}

export interface ReportOptions {
  config: Config;
  format: "arf" | "xarf";
  kind: ReportKind;
  /** "auto": RDAP abuse contact; an address; null: unaddressed. */
  to: string | null;
  /** Report a source (and name other sources) that is not a global address: loopback, private, documentation... */
  includePrivate?: boolean;
}

export function reportMessage(reader: StoreReader, id: number): ReportMessage {
  const m = reader.getMessage(id);
  if (!m) throw new Error(`no message ${id}`);
  // Only a certain relay test is reported as one (and names its dropboxes); a likely one is reported as what it
  // surely is: mail sent to the trap (issue 15).
  const certain = isActionable(m.verdict);
  return {
    id: m.id,
    receivedAt: m.receivedAt,
    srcIp: m.srcIp,
    srcPort: m.srcPort,
    destIp: m.destIp,
    destPort: m.destPort,
    helo: m.helo,
    mailFrom: m.mailFrom,
    rcptTo: m.rcptTo,
    subject: m.subject,
    kind: m.kind === "relay-test" && !certain ? "spam" : m.kind,
    testedIps: certain ? (m.verdict?.testedIps ?? []) : [],
    dropboxes: certain ? (m.verdict?.dropboxes ?? []) : [],
    tester: m.verdict?.tester ?? null,
    raw: m.bodyStored ? reader.getRaw(m.id) : null,
  };
}

export async function buildReportForMessage(reader: StoreReader, id: number, o: ReportOptions): Promise<string> {
  const message = reportMessage(reader, id);
  const local = (ip: string) => !o.includePrivate && classifyIp(ip).reason !== null;
  if (local(message.srcIp)) {
    throw new Error(`message ${id} came from ${message.srcIp}, which is ${classifyIp(message.srcIp).reason}: there is no one to report it to (--include-private to build the report anyway)`);
  }
  let dropbox: string | undefined;
  let otherSources: string[] | undefined;
  if (o.kind === "dropbox") {
    if (message.kind !== "relay-test" || message.dropboxes.length === 0) throw new Error(`message ${id} is not a certain relay test naming a dropbox`);
    dropbox = message.dropboxes[0]!;
    otherSources = [
      ...new Set(searchMessages(reader, { kind: "relay-test", dropbox, limit: 500 }).map((x) => x.srcIp).filter((ip) => ip !== message.srcIp && !local(ip))),
    ].slice(0, MAX_OTHER_SOURCES);
  }
  let to = o.to;
  if (to === "auto") {
    const r = o.config.reports;
    const rdap = createRdap({ bootstrapUrl: r.rdapBootstrapUrl, cacheDir: o.config.dataDir, cacheMaxAgeMs: r.rdapCacheMaxAgeMs, timeoutMs: r.rdapTimeoutMs });
    const c = dropbox ? await rdap.abuseForDomain(dropbox.slice(dropbox.lastIndexOf("@") + 1)) : await rdap.abuseForIp(message.srcIp);
    if (c.emails.length === 0) throw new Error(`no abuse contact found for ${c.target}${c.error ? ` (${c.error})` : ""}; give --to ADDR`);
    to = c.emails.join(", ");
  }
  const input: ReportInput = {
    kind: o.kind,
    message,
    dropbox,
    otherSources,
    reportingHost: o.config.hostname ?? defaultHostname(),
    reporter: { name: o.config.reports.reporter, version: relaytrapVersion(), from: o.config.reports.from },
    to,
    attach: o.config.reports.attach,
    redactionKey: redactionKey(o.config.dataDir),
  };
  if (o.format === "xarf") return JSON.stringify(buildXarf(input), null, 2) + "\n";
  return (await buildArf(input)).toString("latin1");
}
