// Relay-test analysis: decode tested IPs from a trapped message, weigh the evidence, classify, name the dropboxes.
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
import type { AttachmentMeta, Confidence, Envelope, Evidence, HeaderField, MessageKind, ParsedMessage, Verdict } from "./types.js";
import {
  decodeBase64,
  decodeDashedIp,
  decodeDecimalAscii,
  decodeHexInt,
  decodeUrlParam,
  decodeDotlessInt,
  decodeHexAscii,
  decodeHexPort,
  decodePlainIps,
  decodeReversedIps,
  excerpt,
  ipSet,
  mayHoldBase64Anchor,
  unwrap,
  type Finding,
} from "./decoders.js";
import { decodeEnvelope, isRoleAddress, type UnwrappedRecipient } from "./envelope.js";
import { ANGLE_BRACKETS, addresses, bodyText, isReply, relayWords, scanFields, scannableHeaders, subjectCanBeTest, type Position, type ScanField } from "./fields.js";
import { findIpv4, hasDigit, type IpMatch } from "./ip.js";
import { decodeSignatures, signatureByName, signatureInput } from "./signatures.js";
import { parseMessage } from "./parse.js";

export * from "./decoders.js";
export { decodeEnvelope, unwrapRecipient, MAX_ENVELOPE_RCPTS, type UnwrappedRecipient } from "./envelope.js";
export { KNOWN_TESTER_SIGNATURES, isKnownTesterSignature, decodeSignatures, signatureByName, type TesterSignature, type SignatureInput } from "./signatures.js";
export { isActionable } from "./confidence.js";
export { normaliseIp, findIps, findIpv4, findIpv6, findIpv4Loose, hasDigit, reverseIpv4, ipv4FromInt, ipv4ToInt } from "./ip.js";
export { MAX_BODY_CHARS, MAX_HEADER_FIELDS, SHORT_BODY_CHARS, shapeOf, isTestShaped, stripReceivedLines } from "./fields.js";
export type { Confidence, Envelope, Evidence, MessageKind, ParsedMessage, Verdict } from "./types.js";

/** Distinct findings kept per message (hostile input can hold thousands). */
export const MAX_FINDINGS = 200;

/** Score at which a message is a relay test. */
export const RELAY_TEST_THRESHOLD = 50;

/** Points per kind of evidence. Strong encodings and tricks pass the threshold alone; plain IPs need a test position. */
export const WEIGHTS = {
  signature: 90,
  envelopeTrick: 70, // %-hack, "quoted"@, bang path
  envelopeLiteral: 60, // RCPT user@[ip]
  mailFromLiteral: 30,
  decimalAscii: 70,
  encodedStrong: 60, // hex-ascii, base64 with ip:port or a lone ip, 1<hex>:port
  encodedWeak: 15, // an ip somewhere inside longer decoded text
  knownDropbox: 60,
  sensorMatchAnywhere: 35, // a plain sensor IP outside a test position
  sensorBonus: 30, // a sensor IP in a test position or encoded
  strongWordBonus: 30,
  weakWordBonus: 10,
} as const;

/** Evidence weighing less than this is "supporting": all of it together adds at most MAX_SUPPORTING. */
export const SUPPORTING_BELOW = 40;
export const MAX_SUPPORTING = 35;

/** Decoders whose IPs are plain-looking text: weak on their own. */
const WEAK_FORMS = new Set(["plain-ip", "dotless-int", "reversed-ip", "hex-int", "dashed-ip"]);
/** Decoders whose IP in a test position (weight >= SUPPORTING_BELOW) a tester wrote on purpose: certain evidence. */
const POSITIONED_FORMS = new Set(["plain-ip", "dotless-int", "reversed-ip", "hex-int", "dashed-ip", "url-param"]);

/** Weight of a plain / dotless / reversed IP by where it sits. */
export const POSITION_WEIGHTS: Record<Position, number> = {
  "subject-test": 60,
  "header-test": 60,
  "body-test": 60,
  local: 40,
  "body-short": 20,
  "message-id": 20,
  subject: 0,
  body: 0,
  header: 0,
};

export interface AnalyzeOptions {
  /** Dropbox addresses (lower-case) already seen receiving relay tests. */
  knownDropboxes?: ReadonlySet<string>;
  /** The sensor's own host names (lower-case): role mail to them is mail to the sensor, not a relay test. */
  sensorNames?: ReadonlySet<string>;
}

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

interface Weighed {
  f: Finding;
  weight: number;
  /** A sensor IP found where a test would put it (or encoded): earns the sensor bonus. */
  sensorBonus: boolean;
  /** Content a tester puts there on purpose: may make the verdict certain. */
  certain: boolean;
}

const TEST_POSITIONS: ReadonlySet<Position> = new Set(["subject-test", "body-test", "header-test", "local"]);

/** Whether a finding of this weight at this position is evidence a tester wrote on purpose (see Confidence). */
function isCertainEvidence(f: Finding, weight: number, position: Position | null): boolean {
  if (weight < SUPPORTING_BELOW) return false;
  switch (f.decoder) {
    case "signature":
      return f.strong;
    case "envelope-percent-hack":
    case "envelope-quoted":
    case "envelope-bang":
    case "envelope-trailing-at":
      return true;
    case "envelope-literal":
      return f.field === "rcpt";
    case "decimal-ascii":
    case "hex-ascii":
    case "base64":
    case "hex-port":
    case "url-param":
      return true;
    default:
      return POSITIONED_FORMS.has(f.decoder) && position !== null && TEST_POSITIONS.has(position);
  }
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

/** Appends xs to out (out.push(...xs) without spreading into arguments; most xs are empty). */
function append(out: Finding[], xs: readonly Finding[]): void {
  for (const x of xs) out.push(x);
}

/** The findings of every decoder in one field, in decoder order. */
function weighField(field: ScanField, sensors: ReadonlySet<string>, strongWords: boolean): Finding[] {
  const t = field.text;
  // Without a decimal digit only IPv6 and base64 can be there: dotted, dotless, decimal, hex-ASCII ("3\d2e") and
  // 1<hex>:port forms all need one. Most header values and prose bodies have none, so the scans below are skipped.
  const digits = hasDigit(t);
  const v4 = digits ? findIpv4(t, true) : NO_IPS;
  let out: Finding[] = [];
  // Plain and reversed IPs: dotted quads (v4) or IPv6, which needs a colon. Most fields have neither.
  if (v4.length > 0 || t.includes(":")) {
    const reversed = decodeReversedIps(t, field.name, sensors, v4);
    out = decodePlainIps(t, field.name, v4);
    // a strong reversed reading replaces the plain one
    if (reversed.length > 0) out = out.filter((p) => !reversed.some((r) => r.strong && r.found === p.found));
    append(out, reversed);
  }
  if (digits) {
    const dotless = decodeDotlessInt(t, field.name);
    if (strongWords || field.position === "local" || field.position === "header-test") append(out, dotless);
    else for (const f of dotless) if (f.ip !== undefined && sensors.has(f.ip)) out.push(f);
  }
  // The blob decoders read the text unwrapped: decimal and hex ASCII need a digit, base64 an upper-case L-O. Without
  // either the text need not be joined at all.
  if (digits || mayHoldBase64Anchor(t)) {
    const joined = unwrap(t); // once for the three blob decoders (unwrap of unwrapped text is free)
    if (digits) {
      append(out, decodeDecimalAscii(joined, field.name));
      append(out, decodeHexAscii(joined, field.name));
    }
    append(out, decodeBase64(joined, field.name));
  }
  if (digits) {
    append(out, decodeHexPort(t, field.name));
    append(out, decodeHexInt(t, field.name));
    if (field.position === "local" || field.position === "subject-test") append(out, decodeDashedIp(t, field.name));
    if (field.name === "body") append(out, decodeUrlParam(t, field.name));
  }
  return out;
}

function weightOf(f: Finding, position: Position | null, sensors: ReadonlySet<string>): number {
  const sensor = f.ip !== undefined && sensors.has(f.ip);
  switch (f.decoder) {
    case "signature":
      return signatureByName(f.field)?.weight ?? WEIGHTS.signature;
    case "envelope-percent-hack":
    case "envelope-quoted":
    case "envelope-bang":
    case "envelope-trailing-at":
      return WEIGHTS.envelopeTrick;
    case "url-param":
      // a named slot in a short mail's link; in a long page's links it is tracking, not a test
      return position === "body-test" || position === "body-short" ? WEIGHTS.encodedStrong : sensor ? WEIGHTS.sensorMatchAnywhere : WEIGHTS.encodedWeak;
    case "envelope-literal":
      return f.field === "rcpt" ? WEIGHTS.envelopeLiteral : WEIGHTS.mailFromLiteral;
    case "decimal-ascii":
      return f.strong || sensor ? WEIGHTS.decimalAscii : WEIGHTS.encodedWeak;
    case "hex-ascii":
    case "base64":
    case "hex-port":
      return f.strong || sensor ? WEIGHTS.encodedStrong : WEIGHTS.encodedWeak;
    case "plain-ip":
    case "dotless-int":
    case "reversed-ip":
    case "hex-int":
    case "dashed-ip": {
      const w = position ? POSITION_WEIGHTS[position] : 0;
      return sensor ? Math.max(w, WEIGHTS.sensorMatchAnywhere) : w;
    }
    case "known-dropbox":
      return WEIGHTS.knownDropbox;
    default:
      return 0;
  }
}

function emptyVerdict(kind: MessageKind, evidence: Evidence[]): Verdict {
  return { kind, confidence: null, reasons: [], testedIps: [], matchesSensor: false, dropboxes: [], score: 0, evidence };
}

/** Recipients whose local parts are scanned as test positions. */
const MAX_LOCAL_RCPTS = 100;
/** Characters of a test-position field searched for relay words. */
const MAX_WORD_SCAN_CHARS = 2048;

/** No IPs found (shared: never modified). */
const NO_IPS: readonly IpMatch[] = [];
/** No sensor IPs: weightOf with it gives a finding's weight without the sensor match. */
const NO_SENSORS: ReadonlySet<string> = new Set();

// The sensor IP list is the same for every message a sensor analyzes: normalise it once, not per message.
let lastSensorIps: readonly string[] = [];
let lastSensorSet: ReadonlySet<string> = new Set();
function sameIps(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
function sensorSet(ips: readonly string[]): ReadonlySet<string> {
  if (!sameIps(ips, lastSensorIps)) {
    lastSensorSet = ipSet(ips);
    lastSensorIps = [...ips];
  }
  return lastSensorSet;
}

function analyzeUnsafe(msg: ParsedMessage, env: Envelope, sensorIps: readonly string[], opts: AnalyzeOptions): Verdict {
  const sensors = sensorSet(sensorIps);
  const headers: HeaderField[] = scannableHeaders(msg);
  const body = bodyText(msg);
  const envDecoded = decodeEnvelope(env);
  const envLocals: Array<[string, string]> = [];
  if (env.mailFrom) {
    const mf = env.mailFrom.replace(ANGLE_BRACKETS, "");
    const at = mf.lastIndexOf("@");
    if (at > 0) envLocals.push(["mail-from-local", mf.slice(0, at)]);
  }
  const nLocal = Math.min(envDecoded.recipients.length, MAX_LOCAL_RCPTS);
  for (let i = 0; i < nLocal; i++) {
    const u = envDecoded.recipients[i] as UnwrappedRecipient; // i < length
    const at = u.dropbox.lastIndexOf("@");
    if (at > 0) envLocals.push(["rcpt-local", u.dropbox.slice(0, at)]);
  }
  const fields = scanFields(msg, body, headers, envLocals);

  // Relay words count where a test would write them: test-shaped subject/body, local parts, test-named headers.
  const strongWords = new Set<string>();
  const weakWords = new Set<string>();
  for (const f of fields) {
    if (f.position !== "subject-test" && f.position !== "body-test" && f.position !== "local" && f.position !== "header-test") continue;
    // scanFields measured the subject and a short body already; same text when it is within the scan limit
    const s = f.shape && f.text.length <= MAX_WORD_SCAN_CHARS ? f.shape : relayWords(f.text.slice(0, MAX_WORD_SCAN_CHARS));
    for (const w of s.strong) strongWords.add(w);
    for (const w of s.weak) weakWords.add(w);
  }

  const weighed = new Map<string, Weighed>();
  const add = (found: Finding, position: Position | null): void => {
    // An ambiguous decoded reading: a sensor IP among the readings wins.
    const alt = found.ip !== undefined && !sensors.has(found.ip) ? found.alternatives?.find((ip) => sensors.has(ip)) : undefined;
    const f: Finding = alt ? { ...found, ip: alt, alternatives: [found.ip ?? "", ...(found.alternatives ?? []).filter((x) => x !== alt)] } : found;
    const weight = weightOf(f, position, sensors);
    // A sensor IP earns the bonus, a plain-looking one only where it weighs without being the sensor's.
    const sensorBonus = f.ip !== undefined && sensors.has(f.ip) && (!WEAK_FORMS.has(f.decoder) || weightOf(f, position, NO_SENSORS) >= SUPPORTING_BELOW);
    const certain = isCertainEvidence(f, weight, position);
    const key = `${f.decoder}|${f.field}|${f.ip ?? f.found}`;
    const prev = weighed.get(key);
    if (prev) {
      prev.weight = Math.max(prev.weight, weight);
      prev.sensorBonus ||= sensorBonus;
      prev.certain ||= certain;
    } else if (weighed.size < MAX_FINDINGS) weighed.set(key, { f, weight, sensorBonus, certain });
  };
  // In table order, so the first one is what isKnownTesterSignature would name.
  const subjectIsTest = fields.some((f) => f.name === "subject" && f.position === "subject-test");
  const shortMail = subjectCanBeTest(msg, body) && !isReply(msg.subject ?? "");
  const signatures = decodeSignatures(signatureInput(msg, env, body, headers, subjectIsTest, shortMail));
  for (const f of signatures) add(f, null);
  for (const f of envDecoded.findings) add(f, null);
  for (const field of fields) for (const f of weighField(field, sensors, strongWords.size > 0)) add(f, field.position);
  if (opts.knownDropboxes && opts.knownDropboxes.size > 0) {
    for (const d of envDecoded.dropboxes) {
      if (opts.knownDropboxes.has(d)) add({ decoder: "known-dropbox", field: "rcpt", found: d, strong: true }, null);
    }
  }

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

/** Classify one parsed message. Pure and synchronous; never throws (an internal error yields an "error" evidence). */
export function analyze(msg: ParsedMessage, env: Envelope, sensorIps: string[], opts: AnalyzeOptions = {}): Verdict {
  try {
    return analyzeUnsafe(msg, env, sensorIps, opts);
  } catch (err) {
    return errorVerdict(env, err instanceof Error ? err.message : String(err));
  }
}

/** The verdict of a message that could not be analyzed: spam when it had recipients, the reason as the evidence. */
export function errorVerdict(env: Envelope, reason: string): Verdict {
  const kind: MessageKind = env?.rcptTo?.length > 0 ? "spam" : "other";
  return emptyVerdict(kind, [{ decoder: "error", field: "analysis", found: excerpt(reason) }]);
}

/** Parse raw bytes with parseMessage, then analyze. */
export async function analyzeRaw(raw: Buffer, env: Envelope, sensorIps: string[], opts: AnalyzeOptions = {}): Promise<{ parsed: ParsedMessage; verdict: Verdict }> {
  const parsed = await parseMessage(raw);
  return { parsed, verdict: analyze(parsed, env, sensorIps, opts) };
}
