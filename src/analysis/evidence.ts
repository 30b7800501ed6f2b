// Evidence collection for relay-test analysis: runs the decoders over the message's fields, envelope and signatures and
// weighs every finding by kind and position (WEIGHTS, POSITION_WEIGHTS). What the evidence makes of it: classify.ts.
import type { AnalyzeOptions, Envelope, HeaderField, ParsedMessage } from "./types.js";
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
  ipSet,
  mayHoldBase64Anchor,
  unwrap,
  type Finding,
} from "./decoders.js";
import { decodeEnvelope, type UnwrappedRecipient } from "./envelope.js";
import { ANGLE_BRACKETS, bodyText, isReply, relayWords, scanFields, scannableHeaders, subjectCanBeTest, type Position, type ScanField } from "./fields.js";
import { findIpv4, hasDigit, type IpMatch } from "./ip.js";
import { decodeSignatures, signatureByName, signatureInput } from "./signatures.js";

/** Distinct findings kept per message (hostile input can hold thousands). */
export const MAX_FINDINGS = 200;

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

export interface Weighed {
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

/** What collectEvidence found in one message: every weighed finding, and what classification reads besides. */
export interface Collected {
  sensors: ReadonlySet<string>;
  headers: HeaderField[];
  envDecoded: ReturnType<typeof decodeEnvelope>;
  /** Tester signature findings, in table order. */
  signatures: Finding[];
  strongWords: Set<string>;
  weakWords: Set<string>;
  /** Distinct findings (at most MAX_FINDINGS), keyed by decoder, field and IP. */
  weighed: Map<string, Weighed>;
}

/** Runs every decoder over one message and weighs what they find. */
export function collectEvidence(msg: ParsedMessage, env: Envelope, sensorIps: readonly string[], opts: AnalyzeOptions): Collected {
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
  return { sensors, headers, envDecoded, signatures, strongWords, weakWords, weighed };
}
