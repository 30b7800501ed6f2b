// Known relay-tester signatures (DSBL, scanners, swaks, proxy judges, online relay checkers) as a data table.
import type { Envelope, ParsedMessage } from "./types.js";
import type { Finding } from "./decoders.js";
import { excerpt } from "./decoders.js";
import { findIps } from "./ip.js";

/** What a signature looks at; every text is already bounded by the caller. */
export interface SignatureInput {
  subject: string;
  /** First few KB of the body text. */
  body: string;
  /** Header fields (lower-case keys), Received excluded. */
  headers: ReadonlyArray<{ key: string; value: string }>;
  mailFrom: string;
  rcpts: readonly string[];
}

export interface TesterSignature {
  name: string;
  description: string;
  /** Returns the matching excerpt, or null. */
  match: (s: SignatureInput) => string | null;
}

function re(r: RegExp, ...texts: string[]): string | null {
  for (const t of texts) {
    const m = r.exec(t);
    if (m) return m[0];
  }
  return null;
}

/** re() on the texts holding `literal`, which every match of r contains: a substring search skips the regex scan. */
function reWith(literal: string, r: RegExp, ...texts: string[]): string | null {
  for (const t of texts) {
    if (!t.includes(literal)) continue;
    const m = r.exec(t);
    if (m) return m[0];
  }
  return null;
}

function header(s: SignatureInput, key: RegExp): string | null {
  const h = s.headers.find((x) => key.test(x.key));
  return h ? `${h.key}: ${h.value}` : null;
}

function envelope(s: SignatureInput, r: RegExp): string | null {
  // re(r, s.mailFrom, ...s.rcpts) without spreading up to 100 recipients into arguments
  const m = r.exec(s.mailFrom);
  if (m) return m[0];
  for (const t of s.rcpts) {
    const mr = r.exec(t);
    if (mr) return mr[0];
  }
  return null;
}

const SHORT_BODY = 1024;

/** The table. Order matters only for which name lands in Verdict.tester when several match. */
export const KNOWN_TESTER_SIGNATURES: readonly TesterSignature[] = [
  {
    name: "dsbl",
    description: "DSBL-style LISTME cookie message (\"DSBL LISTME: smtp 198.51.100.23 ...\")",
    match: (s) => reWith("LISTME", /DSBL LISTME:[^\n]{0,200}|\bLISTME\b[^\n]{0,200}/, s.subject, s.body),
  },
  {
    name: "promiscuous-relay",
    description: "\"PROMISCUOUS RELAY\" test messages",
    match: (s) => re(/PROMISCUOUS[ _-]?RELAY/i, s.subject, s.body),
  },
  {
    name: "nessus",
    description: "Nessus smtp relay check (\"Nessus relay test\", MAIL FROM/RCPT at nessus.org)",
    match: (s) =>
      re(/\bnessus\b[^\n]{0,40}\b(relay|test)/i, s.subject, s.body.slice(0, SHORT_BODY)) ?? envelope(s, /@nessus\.org\b/i),
  },
  {
    name: "openvas",
    description: "OpenVAS/Greenbone relay check",
    match: (s) => re(/\b(openvas|greenbone)\b[^\n]{0,40}\b(relay|test)/i, s.subject, s.body.slice(0, SHORT_BODY)) ?? envelope(s, /openvas/i),
  },
  {
    name: "scanner-mail-relaying-test",
    description: "vulnerability-scanner subject \"Mail relaying test\"",
    match: (s) => re(/\bmail relaying test\b/i, s.subject),
  },
  {
    name: "nmap-smtp-open-relay",
    description: "nmap smtp-open-relay script (relaytest@nmap.scanme.org)",
    match: (s) => envelope(s, /(nmap\.scanme\.org|scanme\.nmap\.org)\b/i),
  },
  {
    name: "swaks",
    description: "swaks default message (X-Mailer swaks, Subject \"test <date>\", body \"This is a test mailing\")",
    match: (s) => {
      const xm = s.headers.find((h) => h.key === "x-mailer");
      if (xm && /^swaks\b/i.test(xm.value)) return `x-mailer: ${xm.value}`;
      return /^test (Mon|Tue|Wed|Thu|Fri|Sat|Sun), /.test(s.subject) && /^\s*This is a test mailing/.test(s.body) ? s.subject : null;
    },
  },
  {
    name: "proxy-judge",
    description: "proxy-judge style headers (X-Proxy-Spec, X-Proxy-Judge, X-Proxy-Check)",
    match: (s) => header(s, /^x-proxy-?(spec|judge|check)/),
  },
  {
    name: "online-relay-checker",
    description: "online open-relay checkers (mxtoolbox, mail-abuse.org RSS, ORDB)",
    match: (s) => envelope(s, /mxtoolbox|mail-abuse\.(org|com)\b|\bordb\.org\b/i),
  },
  {
    name: "relay-test-phrase",
    description: "\"relay test\" / \"open relay check\" in the subject or a short body",
    match: (s) => re(/\b(open[ _-]?)?relay[ _-]?(test|check)(ing|er)?\b/i, s.subject, s.body.length <= SHORT_BODY ? s.body : ""),
  },
];

/** The first known tester signature the message matches, or null. */
export function isKnownTesterSignature(input: SignatureInput): TesterSignature | null {
  for (const sig of KNOWN_TESTER_SIGNATURES) if (sig.match(input) !== null) return sig;
  return null;
}

/** Signature decoder: one finding per matching signature; DSBL lines also give the tested IP. */
export function decodeSignatures(input: SignatureInput): Finding[] {
  const out: Finding[] = [];
  for (const sig of KNOWN_TESTER_SIGNATURES) {
    const hit = sig.match(input);
    if (hit === null) continue;
    const ip = sig.name === "dsbl" ? findIps(hit)[0]?.ip : undefined;
    const f: Finding = { decoder: "signature", field: sig.name, found: excerpt(hit), strong: true };
    if (ip) f.ip = ip;
    out.push(f);
  }
  return out;
}

/** Build a SignatureInput from a parsed message and its envelope. */
export function signatureInput(msg: ParsedMessage, env: Envelope, body: string, headers: SignatureInput["headers"]): SignatureInput {
  return {
    subject: (msg.subject ?? "").slice(0, 2000),
    body: body.slice(0, 8 * 1024),
    headers,
    mailFrom: env.mailFrom ?? "",
    rcpts: env.rcptTo.slice(0, 100),
  };
}
