// ARF abuse reports (RFC 5965): multipart/report; report-type=feedback-report with a human-readable part, the
// machine-readable message/feedback-report (Feedback-Type: abuse, RFC 6692 Source-Port) and the original as
// message/rfc822 or text/rfc822-headers, trap recipients redacted per RFC 6590. MIME is built by nodemailer's
// MailComposer; nothing is sent from here.
import MailComposer from "nodemailer/lib/mail-composer/index.js";
import { redactAddress, redactInText } from "./redact.js";
import type { ReportInput } from "./types.js";

/** Longest original attached whole; a larger one is attached as headers only. */
export const MAX_ATTACHED_MESSAGE_BYTES = 1024 * 1024;

function domainOf(address: string | null): string | null {
  if (!address) return null;
  const at = address.lastIndexOf("@");
  const d = at >= 0 ? address.slice(at + 1).trim().toLowerCase().replace(/[>\s]/g, "") : "";
  return /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(d) ? d : null;
}

/** Header values must be one line of printable text. */
function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, " ").replace(/[^\x20-\x7e]/g, "?").slice(0, 900);
}

/** Which recipients are redacted: every recipient except, in a dropbox report, the reported dropbox itself. */
export function redactedRecipients(input: ReportInput): string[] {
  const keep = input.kind === "dropbox" && input.dropbox ? input.dropbox.toLowerCase() : null;
  return input.message.rcptTo.filter((r) => r.toLowerCase() !== keep);
}

export function reportSubject(input: ReportInput): string {
  const m = input.message;
  if (input.kind === "dropbox") return `Abuse report: ${input.dropbox ?? "?"} collects open-relay tests`;
  return m.kind === "relay-test" ? `Abuse report: open-relay test from ${m.srcIp}` : `Abuse report: spam relay attempt from ${m.srcIp}`;
}

function humanText(input: ReportInput): string {
  const m = input.message;
  const when = new Date(m.receivedAt).toUTCString();
  const lines: string[] = [];
  if (input.kind === "dropbox") {
    lines.push(
      `The address ${input.dropbox ?? "?"} was named as the recipient of an open-relay test that ${m.srcIp} sent`,
      `to a honeypot (${input.reportingHost}) on ${when}.`,
      "",
      "Spammers scan the Internet for open mail relays and have each relay they test send a message to an address",
      "they control (a dropbox); the messages that arrive tell them which relays work. The address above is used",
      "that way. Please consider closing or watching it.",
    );
    if (input.otherSources?.length) lines.push("", `Other sources of relay tests to it: ${input.otherSources.slice(0, 20).join(", ")}`);
  } else {
    lines.push(
      m.kind === "relay-test"
        ? `${m.srcIp} (port ${m.srcPort}) tried to use a honeypot (${input.reportingHost}) as an open mail relay on ${when}:`
        : `${m.srcIp} (port ${m.srcPort}) sent unsolicited mail through a honeypot (${input.reportingHost}) posing as an open relay on ${when}:`,
      m.kind === "relay-test" ? "it sent a relay test, the first step before sending spam through relays it finds." : "it tried to relay spam to third parties.",
      "",
      "Nothing was relayed. The host is probably compromised or run by a spammer; please investigate.",
    );
    if (m.testedIps.length) lines.push("", `Tested relay address(es): ${m.testedIps.join(", ")}`);
  }
  lines.push("", `HELO: ${m.helo ?? "-"}`, `MAIL FROM: <${m.mailFrom ?? ""}>`, "", "The machine-readable report (RFC 5965) and the message follow.", `-- ${input.reporter.name}`);
  return lines.join("\n") + "\n";
}

export function feedbackReport(input: ReportInput): string {
  const m = input.message;
  const redact = new Set(redactedRecipients(input).map((r) => r.toLowerCase()));
  const fields: Array<[string, string]> = [
    ["Feedback-Type", "abuse"],
    ["User-Agent", `${input.reporter.name}/${input.reporter.version}`],
    ["Version", "1"],
    ["Original-Mail-From", `<${oneLine(m.mailFrom ?? "")}>`],
  ];
  for (const r of m.rcptTo.slice(0, 100)) fields.push(["Original-Rcpt-To", `<${oneLine(redact.has(r.toLowerCase()) ? redactAddress(r, input.redactionKey) : r)}>`]);
  fields.push(["Arrival-Date", new Date(m.receivedAt).toUTCString().replace("GMT", "+0000")]);
  fields.push(["Reporting-MTA", `dns; ${oneLine(input.reportingHost)}`]);
  fields.push(["Source-IP", m.srcIp]);
  fields.push(["Source-Port", String(m.srcPort)]);
  fields.push(["Incidents", "1"]);
  const reported = input.kind === "dropbox" ? domainOf(input.dropbox ?? null) : domainOf(m.mailFrom) ?? (m.helo && /\./.test(m.helo) ? m.helo.toLowerCase() : null);
  if (reported) fields.push(["Reported-Domain", oneLine(reported)]);
  return fields.map(([k, v]) => `${k}: ${v}`).join("\r\n") + "\r\n";
}

/** The original (or its header), with redacted recipients replaced throughout. */
export function originalPart(input: ReportInput): { contentType: "message/rfc822" | "text/rfc822-headers"; content: string } {
  const m = input.message;
  const redact = redactedRecipients(input);
  const raw = m.raw ? m.raw.toString("latin1") : null;
  if (raw !== null && input.attach === "message" && m.raw!.length <= MAX_ATTACHED_MESSAGE_BYTES) {
    return { contentType: "message/rfc822", content: redactInText(raw, redact, input.redactionKey) };
  }
  let header: string;
  if (raw !== null) {
    const end = raw.search(/\r?\n\r?\n/);
    header = end >= 0 ? raw.slice(0, end) : raw;
  } else {
    // The body was not kept: what the envelope and summary say.
    header = [`From: <${m.mailFrom ?? ""}>`, `To: ${m.rcptTo.map((r) => `<${r}>`).join(", ")}`, `Subject: ${oneLine(m.subject ?? "")}`].join("\r\n");
  }
  return { contentType: "text/rfc822-headers", content: redactInText(header.replace(/\r?\n/g, "\r\n") + "\r\n", redact, input.redactionKey) };
}

export async function buildArf(input: ReportInput, date = new Date()): Promise<Buffer> {
  const original = originalPart(input);
  const composer = new MailComposer({
    from: input.reporter.from,
    ...(input.to ? { to: input.to } : {}),
    subject: reportSubject(input),
    date,
    text: humanText(input),
    headers: { "Auto-Submitted": "auto-generated", "X-Report-Kind": input.kind },
    attachments: [
      { contentType: "message/feedback-report", content: feedbackReport(input), contentDisposition: "inline" },
      {
        contentType: original.contentType,
        content: original.content,
        // As an attachment, so mail clients (and mailparser) keep the original apart instead of inlining its text.
        contentDisposition: "attachment",
        ...(original.contentType === "text/rfc822-headers" ? { filename: false as unknown as string } : {}),
      },
    ],
  });
  const root = composer.compile();
  root.setHeader("Content-Type", "multipart/report; report-type=feedback-report");
  return root.build();
}
