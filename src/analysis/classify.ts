// The classification rule of relay-test analysis: from the weighed evidence (evidence.ts) to kind, score, confidence,
// reasons, tested IPs and dropboxes.
//
// Classification rule:
//   1. Every decoder finding gets a weight (WEIGHTS); plain/dotless/reversed IPs weigh only where a relay test puts
//      them (test-shaped subject/body, local parts, test-named X- headers) or when they equal a sensor IP.
//   2. A notice (noticeKind: bounce / DSN / DMARC / ARF report, list or bulk post, Auto-Submitted, role mail to the
//      sensor itself) is never a relay test, whatever it quotes: "other" for reports, else "spam"; confidence possible.
//   3. Otherwise score >= RELAY_TEST_THRESHOLD is "relay-test" (weights < 40 add up to 35 at most, together, and
//      relay words / a sensor match only add to main evidence): confidence "certain" when some evidence is content a
//      tester writes on purpose (isCertainEvidence), else "likely". Only certain acts (confidence.ts: isActionable).
//   4. Otherwise a message with at least one envelope recipient is "spam" (everything sent to a honeypot is), and
//      "possible" when it has any relay-test evidence.
//   5. Otherwise "other".
import type { AnalyzeOptions, AttachmentMeta, Confidence, Envelope, Evidence, HeaderField, MessageKind, ParsedMessage, Verdict } from "./types.js";
import { excerpt, type Finding } from "./decoders.js";
import { isRoleAddress, type UnwrappedRecipient } from "./envelope.js";
import { SUPPORTING_BELOW, WEIGHTS, type Collected, type Weighed } from "./evidence.js";
import { addresses } from "./fields.js";
import { signatureByName } from "./signatures.js";

/** Score at which a message is a relay test. */
export const RELAY_TEST_THRESHOLD = 50;

/** All supporting evidence (weights below SUPPORTING_BELOW) together adds at most this. */
export const MAX_SUPPORTING = 35;

// reportKind's patterns (module constants: a regex literal is a new RegExp object each time it is evaluated)
const REPORT_CONTENT_TYPE = /multipart\/report/i;
const REPORT_SUBJECT =
  /^\s*(report domain:|dmarc aggregate report|undeliver|undelivered mail|delivery status notification|mail delivery (failed|failure|system)|returned mail|failure notice|delivery (failure|notification)|non[- ]?delivery|message not delivered|warning: could not send)/i;
const MAILER_DAEMON = /\bmailer-daemon@/i;
const NULL_SENDER_CHARS = /[<>\s]/g;
const REPORT_PART = /^message\/(delivery-status|disposition-notification|feedback-report)$|^text\/rfc822-headers$/i;
const DMARC_REPORT_FILENAME = /![^!]{1,255}!\d+!\d+/;
/** Attachments looked at for report parts. */
const MAX_REPORT_PARTS = 20;

/** Why a message is an automated report rather than something a client sent: bounce, DSN, DMARC, ARF. Null if not. */
export function reportKind(msg: ParsedMessage, env: Envelope): string | null {
  const ct = msg.headers.find((h) => h.key === "content-type")?.value ?? "";
  if (REPORT_CONTENT_TYPE.test(ct)) return `content-type: ${excerpt(ct)}`;
  const subject = (msg.subject ?? "").slice(0, 300);
  if (REPORT_SUBJECT.test(subject)) return `subject: ${excerpt(subject)}`;
  if (MAILER_DAEMON.test(msg.from ?? "") && (env.mailFrom === null || env.mailFrom.replace(NULL_SENDER_CHARS, "") === "")) return "from MAILER-DAEMON with null sender";
  const n = Math.min(msg.attachments.length, MAX_REPORT_PARTS);
  for (let i = 0; i < n; i++) {
    const a = msg.attachments[i] as AttachmentMeta; // i < length
    if (REPORT_PART.test(a.contentType)) return `part ${a.contentType}`;
    if (a.filename && DMARC_REPORT_FILENAME.test(a.filename)) return `dmarc report ${excerpt(a.filename)}`;
  }
  return null;
}

const LIST_PRECEDENCE = /^\s*(?:list|bulk|junk)\b/i;
const AUTO_SUBMITTED_NO = /^\s*no\b/i;

/**
 * Why a message is a notice, report, bounce or list post, or mail to the sensor's own role addresses, rather than a
 * relay test: such a message is never certain, and never a relay test. Null if none.
 */
export function noticeKind(
  msg: ParsedMessage,
  env: Envelope,
  headers: readonly HeaderField[],
  recipients: readonly UnwrappedRecipient[],
  sensors: ReadonlySet<string>,
  sensorNames: ReadonlySet<string> | undefined,
): string | null {
  const report = reportKind(msg, env);
  if (report !== null) return report;
  for (const h of headers) {
    if (h.key === "list-id") return `list post (List-Id: ${excerpt(h.value)})`;
    if (h.key === "precedence" && LIST_PRECEDENCE.test(h.value)) return `bulk/list mail (Precedence: ${excerpt(h.value)})`;
    if (h.key === "auto-submitted" && !AUTO_SUBMITTED_NO.test(h.value)) return `automatic notice (Auto-Submitted: ${excerpt(h.value)})`;
  }
  if (recipients.length > 0 && recipients.every((r) => isRoleAddress(r.dropbox) && ownDomain(r, sensors, sensorNames))) {
    return "recipients are only role addresses (postmaster, abuse, ...) of the sensor itself";
  }
  return null;
}

/** A recipient at the sensor: an address literal (any, when the sensor's IPs are unknown) or one of its names. */
function ownDomain(r: UnwrappedRecipient, sensors: ReadonlySet<string>, names: ReadonlySet<string> | undefined): boolean {
  if (r.ip !== null) return sensors.size === 0 || sensors.has(r.ip);
  const domain = r.dropbox.slice(r.dropbox.lastIndexOf("@") + 1);
  return names !== undefined && names.has(domain);
}

/** The verdict on one message from its evidence. */
export function classify(msg: ParsedMessage, env: Envelope, c: Collected, opts: AnalyzeOptions): Verdict {
  const { sensors, headers, envDecoded, signatures, strongWords, weakWords, weighed } = c;
  const counted: Weighed[] = [];
  let main = 0;
  let supporting = 0;
  for (const w of weighed.values()) {
    if (w.weight <= 0) continue;
    counted.push(w);
    if (w.weight >= SUPPORTING_BELOW) main += w.weight;
    else supporting += w.weight;
  }
  counted.sort((a, b) => b.weight - a.weight);
  let score = main + Math.min(MAX_SUPPORTING, supporting);
  const evidence: Evidence[] = counted.map(({ f, weight, certain }) => {
    const e: Evidence = { decoder: f.decoder, field: f.field, found: f.found, weight };
    if (certain) e.certain = true;
    if (f.ip !== undefined) e.ip = f.ip;
    if (f.reversed) e.reversed = true;
    if (f.alternatives) e.alternatives = f.alternatives;
    return e;
  });
  // Tested IPs come from the main evidence; supporting evidence (a stray IP in a short body) only when there is no other.
  const ips: string[] = [];
  const anyMainIp = counted.some((w) => w.f.ip !== undefined && w.weight >= SUPPORTING_BELOW);
  for (const w of counted) {
    if (w.f.ip !== undefined && (!anyMainIp || w.weight >= SUPPORTING_BELOW) && !ips.includes(w.f.ip)) ips.push(w.f.ip);
  }
  const sensorHit = ips.filter((ip) => sensors.has(ip));
  // Relay words and a sensor match only add to main evidence: words and a stray IP alone make no relay test.
  if (main > 0) {
    if (counted.some((w) => w.sensorBonus)) {
      score += WEIGHTS.sensorBonus;
      evidence.push({ decoder: "sensor-match", field: "sensorIps", found: sensorHit.join(", "), weight: WEIGHTS.sensorBonus });
    }
    if (strongWords.size > 0) {
      score += WEIGHTS.strongWordBonus;
      evidence.push({ decoder: "relay-words", field: "test-positions", found: [...strongWords].join(", "), weight: WEIGHTS.strongWordBonus });
    } else if (weakWords.size > 0) {
      score += WEIGHTS.weakWordBonus;
      evidence.push({ decoder: "relay-words", field: "test-positions", found: [...weakWords].join(", "), weight: WEIGHTS.weakWordBonus });
    }
  }
  score = Math.min(100, score);

  const notice = noticeKind(msg, env, headers, envDecoded.recipients, sensors, opts.sensorNames);
  const certainEvidence = counted.filter((w) => w.certain);
  const reasons: string[] = [];
  const listed = (): string => (counted[0] ? describe(counted[0].f) : "") + (counted.length > 1 ? ` and ${counted.length - 1} more` : "");
  let kind: MessageKind;
  let confidence: Confidence | null;
  if (notice !== null) {
    kind = reportKind(msg, env) !== null ? "other" : env.rcptTo.length > 0 ? "spam" : "other";
    confidence = counted.length > 0 ? "possible" : null;
    evidence.push({ decoder: "report", field: "message", found: notice, weight: 0 });
    if (confidence) reasons.push(`possible, not a relay test: ${notice}; such mail is never a test, whatever it quotes`);
  } else if (score >= RELAY_TEST_THRESHOLD) {
    kind = "relay-test";
    if (certainEvidence.length > 0) {
      confidence = "certain";
      const w = certainEvidence[0] as Weighed; // length > 0
      reasons.push(`certain: ${describe(w.f)}: ${whyCertain(w.f)}${certainEvidence.length > 1 ? ` (and ${certainEvidence.length - 1} more)` : ""}`);
    } else {
      confidence = "likely";
      reasons.push(`likely, not certain: score ${score} >= ${RELAY_TEST_THRESHOLD}, but only on evidence that can be accidental (${listed()})`);
    }
  } else {
    kind = env.rcptTo.length > 0 ? "spam" : "other";
    confidence = counted.length > 0 ? "possible" : null;
    if (confidence) reasons.push(`possible: score ${score} below ${RELAY_TEST_THRESHOLD} (${listed()})`);
  }

  if (kind !== "relay-test") return { kind, confidence, reasons, testedIps: [], matchesSensor: false, dropboxes: [], score, evidence };
  let dropboxes = envDecoded.dropboxes;
  if (dropboxes.length === 0) dropboxes = [...addresses(msg.to), ...addresses(headers.find((h) => h.key === "cc")?.value ?? null)];
  const verdict: Verdict = {
    kind,
    confidence,
    reasons,
    testedIps: ips,
    matchesSensor: sensorHit.length > 0,
    dropboxes,
    score,
    evidence,
  };
  const tester = signatures.find((f) => f.strong)?.field ?? signatures[0]?.field;
  if (tester !== undefined) verdict.tester = tester;
  return verdict;
}

/** One finding in words: which decoder, which field, what it decoded. */
function describe(f: Finding): string {
  if (f.decoder === "signature") return `tester signature "${f.field}" matched ${JSON.stringify(f.found)}`;
  const ip = f.ip !== undefined && !f.found.includes(" -> ") ? ` -> ${f.ip}` : "";
  return `${f.decoder} in ${f.field}: ${f.found}${ip}${f.reversed ? " (octets reversed)" : ""}`;
}

function whyCertain(f: Finding): string {
  switch (f.decoder) {
    case "signature":
      return `the pattern of a named tool (${signatureByName(f.field)?.recognisedBy ?? f.field})`;
    case "envelope-literal":
      return "a recipient at an address literal: the tester names the relay's IP";
    case "plain-ip":
    case "dotless-int":
    case "reversed-ip":
    case "hex-int":
    case "dashed-ip":
      return "an IP where a tester writes the tested address (test-shaped subject/body, local part, test header)";
    case "url-param":
      return "the IP in a named URL slot of a short mail";
    default:
      return f.decoder.startsWith("envelope-") ? "an envelope relay trick" : "an encoding nobody writes by accident";
  }
}
