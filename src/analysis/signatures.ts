// The tester catalogue: public relay checkers and known spammer/cracker tools, each with how it is recognised and a
// source. A `specific` signature (envelope + header/body pattern of a named tool or checker) may make a verdict
// certain; the others (a bare phrase, one forgeable header) only weigh, and never reach certainty alone.
import type { Envelope, ParsedMessage } from "./types.js";
import type { Finding } from "./decoders.js";
import { excerpt } from "./decoders.js";
import { findIps } from "./ip.js";

/** What a signature looks at; every text is already bounded by the caller. */
export interface SignatureInput {
  subject: string;
  /** True when the subject is a test position: the body is short (a 2 MB page's subject is not a test's). */
  subjectIsTest: boolean;
  /** True when the message is short enough for its subject to be a test's (a host name makes no subject test-shaped). */
  shortMail?: boolean;
  /** First few KB of the body text. */
  body: string;
  /** Header fields (lower-case keys), Received excluded. */
  headers: ReadonlyArray<{ key: string; value: string }>;
  mailFrom: string;
  rcpts: readonly string[];
  helo?: string;
}

export type TesterKind = "checker" | "scanner" | "spammer-tool" | "cracker" | "proxy-checker" | "phrase";

export interface TesterSignature {
  name: string;
  kind: TesterKind;
  description: string;
  /** How it is recognised, in words (shown by `analyze --explain`). */
  recognisedBy: string;
  /** Where the pattern comes from: a published sample or manual, or "imitates <named pattern>". */
  source: string;
  /** Envelope + header/body pattern of a named tool: may make a verdict certain. */
  specific: boolean;
  /** Points it adds to the score (below 40: supporting, a bare phrase never makes a relay test alone). */
  weight: number;
  /** Returns the matching excerpt, or null. */
  match: (s: SignatureInput) => string | null;
}

function re(r: RegExp, ...texts: string[]): string | null {
  for (const t of texts) {
    if (t === "") continue;
    const m = r.exec(t);
    if (m) return m[0];
  }
  return null;
}

function envelope(s: SignatureInput, r: RegExp): string | null {
  const m = r.exec(s.mailFrom);
  if (m) return m[0];
  for (const t of s.rcpts) {
    const mr = r.exec(t);
    if (mr) return mr[0];
  }
  return null;
}

function rcpt(s: SignatureInput, r: RegExp): string | null {
  for (const t of s.rcpts) {
    const m = r.exec(t);
    if (m) return m[0];
  }
  return null;
}

const SHORT_BODY = 1024;
const shortBody = (s: SignatureInput): string => (s.body.length <= SHORT_BODY ? s.body : "");
const testSubject = (s: SignatureInput): string => (s.subjectIsTest ? s.subject : "");

/** Local parts public checkers send their test to (or from). */
const CHECKER_LOCAL = "(?:relaytest|relay-test|relaycheck|spamtest|antispam|listme|nobody|test)";
/** A checker recipient: a test local part at one of the checker's domains. */
function checkerRcpt(domains: string): RegExp {
  return new RegExp(`^<?"?${CHECKER_LOCAL}@(?:[a-z0-9-]+\\.)*(?:${domains})"?>?$|^<?(?:${domains})!${CHECKER_LOCAL}>?$`, "i");
}

const DSBL_RCPT = checkerRcpt("dsbl\\.org");
const MAILRADAR_RCPT = checkerRcpt("mailradar\\.com");
const APPRIVER_RCPT = checkerRcpt("appriver\\.com");
const MXTOOLBOX_RCPT = checkerRcpt("mxtoolbox\\.com|mxtoolboxsmtpdiag\\.com");
const MAPS_RCPT = checkerRcpt("mail-abuse\\.(?:org|com)|ordb\\.org|abuse\\.net|spamhelp\\.org");

// The phrase "relay test", "open relay check(er)", not inside a host name or URL ("www.openrelaycheck.com").
const RELAY_PHRASE = /(?<![\w./@-])(?:open[ _-]?)?relay[ _-]?(?:test|check)(?:ing|er)?(?![\w-]|\.\w)/i;
// "MX check" naming a host: the host is the tested relay (the IP is the one the client connected to).
const MX_PHRASE = /(?<![\w./@-])mx[ _-]?(?:check|test)(?![\w-]|\.\w)[^\n]{0,40}?(?<![\w.-])(?:[a-z0-9-]{1,63}\.){1,6}[a-z]{2,24}(?![\w.-])/i;
const DSBL_COOKIE = /DSBL LISTME: ?(?:smtp|socks4|socks5|http|wingate|connect)[^\n]{0,200}/;
/** The text when it may hold a DSBL cookie (one substring search skips the regex scan of most bodies). */
const hasListme = (t: string): string => (t.includes("LISTME") ? t : "");
const NESSUS_PHRASE = /\bnessus\b[^\n]{0,40}\b(relay|test)/i;
const SWAKS_MAILER = /^swaks\b/i;
const SWAKS_SUBJECT = /^test (Mon|Tue|Wed|Thu|Fri|Sat|Sun), /;
const SWAKS_BODY = /^\s*This is a test mailing/;
// An AUTH cracker's report of working credentials: host/ip, port, user and password, labelled or "ip:port user pass".
const CRED_LABELLED = /\b(?:pass(?:word)?|pwd|pw)\s*[:=]\s*\S+/i;
const CRED_USER = /\b(?:user(?:name)?|login|account)\s*[:=]\s*\S+/i;
const CRED_LINE = /(\d{1,3}(?:\.\d{1,3}){3})([:|;])(\d{1,5})\2([^\s:|;]{1,64})\2([^\s|;]{1,64})/;

function swaksDefaults(s: SignatureInput): boolean {
  return SWAKS_SUBJECT.test(s.subject) || SWAKS_BODY.test(s.body);
}

/** The catalogue. Order matters only for which name lands in Verdict.tester when several match (specific first). */
export const KNOWN_TESTER_SIGNATURES: readonly TesterSignature[] = [
  {
    name: "dsbl",
    kind: "checker",
    description: "DSBL relaytest/proxytest: a LISTME cookie message to listme@dsbl.org",
    recognisedBy: "the cookie line \"DSBL LISTME: <protocol> <ip>\" in subject or body, or RCPT listme@(listme.)dsbl.org",
    source: "relaytest(1) manual (dsbl-conf), https://www.unix.com/61393-post13.html",
    specific: true,
    weight: 90,
    match: (s) => re(DSBL_COOKIE, hasListme(s.subject), hasListme(s.body)) ?? rcpt(s, DSBL_RCPT),
  },
  {
    name: "nmap-smtp-open-relay",
    kind: "scanner",
    description: "nmap smtp-open-relay.nse: RCPT relaytest@nmap.scanme.org, MAIL FROM antispam@nmap.scanme.org",
    recognisedBy: "an envelope address at nmap.scanme.org (the script's default domain) with its relaytest/antispam local part",
    source: "https://nmap.org/nsedoc/scripts/smtp-open-relay.html (defaults: to=relaytest, domain=nmap.scanme.org)",
    specific: true,
    weight: 90,
    match: (s) => envelope(s, /\b(?:relaytest|antispam|spamtest)@(?:nmap\.scanme\.org|scanme\.nmap\.org)\b/i),
  },
  {
    name: "mailradar",
    kind: "checker",
    description: "mailradar.com open relay test: MAIL FROM antispam@mailradar.com, RCPT relaytest@mailradar.com",
    recognisedBy: "RCPT relaytest@mailradar.com (any form) or MAIL FROM antispam@mailradar.com",
    source: "published transcript of a mailradar.com test, https://pastebin.com/M46G4R6L",
    specific: true,
    weight: 90,
    match: (s) => rcpt(s, MAILRADAR_RCPT) ?? envelope(s, /\bantispam@mailradar\.com\b/i),
  },
  {
    name: "appriver",
    kind: "checker",
    description: "AppRiver \"SMTP Open Relay\" tool",
    recognisedBy: "a relaytest/spamtest recipient at appriver.com",
    source: "https://support.appriver.com/kb/a957/tools-smtp-open-relay.aspx (envelope imitated)",
    specific: true,
    weight: 90,
    match: (s) => rcpt(s, APPRIVER_RCPT),
  },
  {
    name: "mxtoolbox",
    kind: "checker",
    description: "MxToolbox SMTP diagnostics open relay check",
    recognisedBy: "a test recipient at mxtoolbox.com / mxtoolboxsmtpdiag.com",
    source: "https://mxtoolbox.com/problem/smtp/smtp-open-relay (envelope imitated)",
    specific: true,
    weight: 90,
    match: (s) => rcpt(s, MXTOOLBOX_RCPT),
  },
  {
    name: "maps-rss",
    kind: "checker",
    description: "MAPS RSS / mail-abuse.org relay tester, ORDB, abuse.net, spamhelp.org relay tests",
    recognisedBy: "a relaytest/spamtest/nobody recipient at the checker's domain (never the domain alone)",
    source: "imitates the MAPS RSS / ORDB / abuse.net relay tests (1999-2006)",
    specific: true,
    weight: 90,
    match: (s) => rcpt(s, MAPS_RCPT),
  },
  {
    name: "swaks",
    kind: "scanner",
    description: "swaks default message",
    recognisedBy: "X-Mailer \"swaks ...\" together with swaks' default Subject \"test <date>\" or body \"This is a test mailing\"",
    source: "swaks(1) manual, https://manpages.ubuntu.com/manpages/noble/man1/swaks.1.html",
    specific: true,
    weight: 90,
    match: (s) => {
      const xm = s.headers.find((h) => h.key === "x-mailer");
      return xm && SWAKS_MAILER.test(xm.value) && swaksDefaults(s) ? `x-mailer: ${xm.value}` : null;
    },
  },
  {
    name: "auth-cracker-report",
    kind: "cracker",
    description: "AUTH cracker report: working SMTP credentials (host, port, user, password) sent to the cracker's dropbox",
    recognisedBy: "a short body (or subject) with host/IP, port, user and password: labelled lines or \"ip:port:user:pass\"",
    source: "imitates the credential reports of SMTP AUTH brute-forcers seen on honeypots",
    specific: true,
    weight: 90,
    match: (s) => {
      const body = shortBody(s);
      const line = re(CRED_LINE, s.subject, body);
      if (line !== null) return line;
      const text = `${s.subject}\n${body}`;
      const pw = CRED_LABELLED.exec(text);
      const user = CRED_USER.exec(text);
      if (pw && user && /\b(?:host|server|smtp|ip)\b/i.test(text) && /\bport\s*[:=]?\s*\d{2,5}\b|:\d{2,5}\b/i.test(text)) return `${user[0]} ${pw[0]}`;
      return null;
    },
  },
  {
    name: "nessus",
    kind: "scanner",
    description: "Nessus smtp relay check",
    recognisedBy: "an envelope address at nessus.org together with \"Nessus\" and relay/test in the subject or short body",
    source: "imitates Nessus smtp_relay.nasl (sender and recipient at nessus.org)",
    specific: true,
    weight: 90,
    match: (s) => {
      const env = envelope(s, /@nessus\.org\b/i);
      return env === null ? null : re(NESSUS_PHRASE, s.subject, shortBody(s));
    },
  },
  {
    name: "nessus-phrase",
    kind: "phrase",
    description: "\"Nessus ... relay/test\" without Nessus' envelope",
    recognisedBy: "the phrase in a test subject or short body (never certain)",
    source: "imitates Nessus smtp_relay.nasl",
    specific: false,
    weight: 30,
    match: (s) => (envelope(s, /@nessus\.org\b/i) === null ? re(NESSUS_PHRASE, testSubject(s), shortBody(s)) : null),
  },
  {
    name: "openvas",
    kind: "scanner",
    description: "OpenVAS/Greenbone relay check",
    recognisedBy: "\"OpenVAS\"/\"Greenbone\" with relay/test in a test subject or short body",
    source: "imitates OpenVAS smtp relay NVT",
    specific: false,
    weight: 30,
    match: (s) => re(/\b(openvas|greenbone)\b[^\n]{0,40}\b(relay|test)/i, testSubject(s), shortBody(s)),
  },
  {
    name: "proxy-judge",
    kind: "proxy-checker",
    description: "proxy-judge style headers (X-Proxy-Spec, X-Proxy-Judge, X-Proxy-Check)",
    recognisedBy: "an X-Proxy-Spec/-Judge/-Check header field",
    source: "imitates proxy checkers' judge mails",
    specific: false,
    weight: 50,
    match: (s) => {
      const h = s.headers.find((x) => /^x-proxy-?(spec|judge|check)/.test(x.key));
      return h ? `${h.key}: ${h.value}` : null;
    },
  },
  {
    name: "promiscuous-relay",
    kind: "phrase",
    description: "\"PROMISCUOUS RELAY\" in a test subject or short body",
    recognisedBy: "the phrase alone (a bare phrase: never certain)",
    source: "imitates the PROMISCUOUS RELAY test mails",
    specific: false,
    weight: 30,
    match: (s) => re(/PROMISCUOUS[ _-]?RELAY/i, testSubject(s), shortBody(s)),
  },
  {
    name: "scanner-mail-relaying-test",
    kind: "phrase",
    description: "vulnerability-scanner subject \"Mail relaying test\"",
    recognisedBy: "the subject phrase alone (never certain)",
    source: "imitates scanner relay checks",
    specific: false,
    weight: 30,
    match: (s) => re(/\bmail relaying test\b/i, testSubject(s)),
  },
  {
    name: "relay-test-phrase",
    kind: "phrase",
    description: "\"relay test\" / \"open relay check\" in a test subject or a short body, not inside a URL or host name",
    recognisedBy: "the phrase alone (never certain)",
    source: "imitates hand-run relay tests",
    specific: false,
    weight: 30,
    match: (s) => re(RELAY_PHRASE, testSubject(s), shortBody(s)),
  },
  {
    name: "mx-check",
    kind: "phrase",
    description: "\"MX check\" tests naming only the target host (the tested IP is the one connected to)",
    recognisedBy: "\"MX check\"/\"MX test\" followed by a host name in a test subject or a short body (never certain)",
    source: "imitates MX-check relay tests",
    specific: false,
    weight: 50,
    match: (s) => re(MX_PHRASE, s.shortMail === true && s.subject.length <= 120 ? s.subject : "", shortBody(s)),
  },
  {
    name: "swaks-header",
    kind: "scanner",
    description: "X-Mailer swaks without swaks' defaults",
    recognisedBy: "the X-Mailer header alone (forgeable: supporting evidence only)",
    source: "swaks(1) manual",
    specific: false,
    weight: 15,
    match: (s) => {
      const xm = s.headers.find((h) => h.key === "x-mailer");
      return xm && SWAKS_MAILER.test(xm.value) && !swaksDefaults(s) ? `x-mailer: ${xm.value}` : null;
    },
  },
  {
    name: "listme-word",
    kind: "phrase",
    description: "the word LISTME without a DSBL cookie",
    recognisedBy: "the bare word (supporting evidence only)",
    source: "DSBL",
    specific: false,
    weight: 15,
    match: (s) => re(/\bLISTME\b[^\n]{0,200}/, testSubject(s), shortBody(s)),
  },
];

/** The first known tester signature the message matches, or null. */
export function isKnownTesterSignature(input: SignatureInput): TesterSignature | null {
  for (const sig of KNOWN_TESTER_SIGNATURES) if (sig.match(input) !== null) return sig;
  return null;
}

const BY_NAME = new Map(KNOWN_TESTER_SIGNATURES.map((s) => [s.name, s]));
export function signatureByName(name: string): TesterSignature | undefined {
  return BY_NAME.get(name);
}

/** Signature decoder: one finding per matching signature; DSBL and credential lines also give the tested IP. */
export function decodeSignatures(input: SignatureInput): Finding[] {
  const out: Finding[] = [];
  for (const sig of KNOWN_TESTER_SIGNATURES) {
    const hit = sig.match(input);
    if (hit === null) continue;
    const ip = sig.name === "dsbl" || sig.name === "auth-cracker-report" ? findIps(hit)[0]?.ip : undefined;
    const f: Finding = { decoder: "signature", field: sig.name, found: excerpt(hit), strong: sig.specific };
    if (ip) f.ip = ip;
    out.push(f);
  }
  return out;
}

/** Build a SignatureInput from a parsed message and its envelope. */
export function signatureInput(
  msg: ParsedMessage,
  env: Envelope,
  body: string,
  headers: SignatureInput["headers"],
  subjectIsTest = true,
  shortMail = subjectIsTest,
): SignatureInput {
  return {
    subject: (msg.subject ?? "").slice(0, 2000),
    subjectIsTest,
    shortMail,
    body: body.slice(0, 8 * 1024),
    headers,
    mailFrom: env.mailFrom ?? "",
    rcpts: env.rcptTo.slice(0, 100),
    helo: env.helo ?? "",
  };
}
