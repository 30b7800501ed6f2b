// X-ARF v0.4-style JSON abuse reports (the JSON generation of X-ARF): reporter, disclosure and one report of class
// "Activity", type "Spam", for a source (relay test or spam) or a dropbox. Schema: test/fixtures/xarf/xarf-0.4.schema.json.
import { redactAddress, redactInText } from "./redact.js";
import { redactedRecipients } from "./arf.js";
import type { ReportInput } from "./types.js";

export const XARF_VERSION = "0.4";
/** Largest sample (the original message) embedded, before base64. */
export const MAX_XARF_SAMPLE_BYTES = 1024 * 1024;

export interface XarfReport {
  Version: string;
  ReporterInfo: { ReporterOrg: string; ReporterOrgEmail: string; ReporterContactEmail: string; ReporterSoftware: string };
  Disclosure: boolean;
  Report: {
    ReportClass: "Activity";
    ReportType: "Spam";
    /** "relay-test-source", "spam-source" or "relay-test-dropbox". */
    ReportSubtype: "relay-test-source" | "spam-source" | "relay-test-dropbox";
    Date: string;
    SourceIp: string;
    SourcePort: number;
    DestinationIp: string;
    DestinationPort: number;
    Protocol: "smtp";
    SmtpHelo: string | null;
    SmtpMailFromAddress: string;
    SmtpRcptToAddresses: string[];
    Subject: string | null;
    TestedRelayIps: string[];
    Dropbox?: string;
    DropboxDomain?: string;
    OtherSources?: string[];
    Samples: Array<{ ContentType: "message/rfc822" | "text/rfc822-headers"; Base64Encoded: true; Description: string; Payload: string }>;
  };
}

export function buildXarf(input: ReportInput): XarfReport {
  const m = input.message;
  const redact = redactedRecipients(input);
  const redactSet = new Set(redact.map((r) => r.toLowerCase()));
  const subtype = input.kind === "dropbox" ? "relay-test-dropbox" : m.kind === "relay-test" ? "relay-test-source" : "spam-source";
  const samples: XarfReport["Report"]["Samples"] = [];
  if (m.raw) {
    const whole = input.attach === "message" && m.raw.length <= MAX_XARF_SAMPLE_BYTES;
    const text = m.raw.toString("latin1");
    const end = text.search(/\r?\n\r?\n/);
    const part = whole ? text : end >= 0 ? text.slice(0, end) + "\r\n" : text.slice(0, MAX_XARF_SAMPLE_BYTES);
    samples.push({
      ContentType: whole ? "message/rfc822" : "text/rfc822-headers",
      Base64Encoded: true,
      Description: whole ? "the message as received, trap recipients redacted" : "the header of the message as received, trap recipients redacted",
      Payload: Buffer.from(redactInText(part, redact, input.redactionKey), "latin1").toString("base64"),
    });
  }
  const report: XarfReport["Report"] = {
    ReportClass: "Activity",
    ReportType: "Spam",
    ReportSubtype: subtype,
    Date: new Date(m.receivedAt).toISOString(),
    SourceIp: m.srcIp,
    SourcePort: m.srcPort,
    DestinationIp: m.destIp,
    DestinationPort: m.destPort,
    Protocol: "smtp",
    SmtpHelo: m.helo,
    SmtpMailFromAddress: m.mailFrom ?? "",
    SmtpRcptToAddresses: m.rcptTo.slice(0, 100).map((r) => (redactSet.has(r.toLowerCase()) ? redactAddress(r, input.redactionKey) : r)),
    Subject: m.subject,
    TestedRelayIps: m.testedIps,
    Samples: samples,
  };
  if (input.kind === "dropbox" && input.dropbox) {
    report.Dropbox = input.dropbox;
    report.DropboxDomain = input.dropbox.slice(input.dropbox.lastIndexOf("@") + 1).toLowerCase();
    if (input.otherSources?.length) report.OtherSources = input.otherSources.slice(0, 100);
  }
  const orgDomain = input.reporter.from.slice(input.reporter.from.lastIndexOf("@") + 1).replace(/>.*$/, "");
  return {
    Version: XARF_VERSION,
    ReporterInfo: {
      ReporterOrg: input.reporter.name,
      ReporterOrgEmail: `abuse@${orgDomain}`,
      ReporterContactEmail: input.reporter.from.replace(/^.*<|>.*$/g, ""),
      ReporterSoftware: `relaytrap/${input.reporter.version}`,
    },
    Disclosure: true,
    Report: report,
  };
}
