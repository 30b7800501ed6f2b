// Relay-test analysis: decode tested IPs from a trapped message, weigh the evidence, classify, name the dropboxes.
// The public API; evidence collection is in evidence.ts, the classification rule in classify.ts.
import type { AnalyzeOptions, Envelope, Evidence, MessageKind, ParsedMessage, Verdict } from "./types.js";
import { classify } from "./classify.js";
import { excerpt } from "./decoders.js";
import { collectEvidence } from "./evidence.js";
import { parseMessage } from "./parse.js";

export * from "./decoders.js";
export { decodeEnvelope, unwrapRecipient, MAX_ENVELOPE_RCPTS, type UnwrappedRecipient } from "./envelope.js";
export { KNOWN_TESTER_SIGNATURES, isKnownTesterSignature, decodeSignatures, signatureByName, type TesterSignature, type SignatureInput } from "./signatures.js";
export { isActionable } from "./confidence.js";
export { normaliseIp, findIps, findIpv4, findIpv6, findIpv4Loose, hasDigit, reverseIpv4, ipv4FromInt, ipv4ToInt } from "./ip.js";
export { MAX_BODY_CHARS, MAX_HEADER_FIELDS, SHORT_BODY_CHARS, shapeOf, isTestShaped, stripReceivedLines } from "./fields.js";
export type { AnalyzeOptions, Confidence, Envelope, Evidence, MessageKind, ParsedMessage, Verdict } from "./types.js";
export { MAX_FINDINGS, POSITION_WEIGHTS, SUPPORTING_BELOW, WEIGHTS } from "./evidence.js";
export { MAX_SUPPORTING, RELAY_TEST_THRESHOLD, noticeKind, reportKind } from "./classify.js";

function analyzeUnsafe(msg: ParsedMessage, env: Envelope, sensorIps: readonly string[], opts: AnalyzeOptions): Verdict {
  return classify(msg, env, collectEvidence(msg, env, sensorIps, opts), opts);
}

function emptyVerdict(kind: MessageKind, evidence: Evidence[]): Verdict {
  return { kind, confidence: null, reasons: [], testedIps: [], matchesSensor: false, dropboxes: [], score: 0, evidence };
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
