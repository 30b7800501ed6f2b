// Envelope relay tricks: address literals, %-hack, quoted local parts and bang paths in RCPT TO (and MAIL FROM).
import type { Envelope } from "./types.js";
import type { Finding } from "./decoders.js";
import { excerpt } from "./decoders.js";
import { normaliseIp } from "./ip.js";

/** Recipients looked at per transaction (the SMTP layer caps RCPTs too). */
export const MAX_ENVELOPE_RCPTS = 1000;

/** One recipient taken apart: the dropbox it finally aims at, the trick used, the tested IP if the domain is one. */
export interface UnwrappedRecipient {
  /** Lower-cased address the test is meant to reach. */
  dropbox: string;
  trick: "none" | "literal" | "percent-hack" | "quoted" | "bang" | "trailing-at";
  /** Canonical IP when the domain is an address literal or a bare IP. */
  ip: string | null;
}

function stripAngle(a: string): string {
  let s = a.trim();
  if (s.startsWith("<") && s.endsWith(">")) s = s.slice(1, -1).trim();
  // drop a source route "@a,@b:user@host"
  if (s.startsWith("@")) {
    const colon = s.indexOf(":");
    if (colon > 0) s = s.slice(colon + 1);
  }
  return s;
}

/** A domain that may be a bare IP: digits and dots, or anything with a colon (IPv6). */
const BARE_IP_DOMAIN = /^[0-9.]+$|:/;

function domainIp(domain: string): string | null {
  const d = domain.trim();
  if (d.startsWith("[") && d.endsWith("]")) return normaliseIp(d);
  return BARE_IP_DOMAIN.test(d) ? normaliseIp(d) : null;
}

/** Take one envelope address apart. `"user@dropbox"@ip` -> user@dropbox; `user%dropbox@[ip]` -> user@dropbox; `dropbox!user@[ip]` -> user@dropbox. */
export function unwrapRecipient(address: string): UnwrappedRecipient {
  const addr = stripAngle(address).slice(0, 512);
  let local: string;
  let domain: string;
  let quoted = false;
  if (addr.startsWith('"')) {
    const close = addr.indexOf('"', 1);
    local = close > 0 ? addr.slice(1, close) : addr.slice(1);
    const rest = close > 0 ? addr.slice(close + 1) : "";
    domain = rest.startsWith("@") ? rest.slice(1) : "";
    quoted = true;
  } else {
    const at = addr.lastIndexOf("@");
    local = at >= 0 ? addr.slice(0, at) : addr;
    domain = at >= 0 ? addr.slice(at + 1) : "";
  }
  // "relaytest@domain@" (an empty domain after a second "@"): sendmail-style parsers relay to the inner address.
  if (!quoted && domain === "" && local.includes("@")) {
    const inner = unwrapRecipient(local);
    return { dropbox: inner.dropbox, trick: "trailing-at", ip: inner.ip };
  }
  const ip = domainIp(domain);
  if (quoted && local.includes("@")) return { dropbox: local.toLowerCase(), trick: "quoted", ip };
  const pct = local.lastIndexOf("%");
  if (pct > 0 && pct < local.length - 1) {
    return { dropbox: `${local.slice(0, pct)}@${local.slice(pct + 1)}`.toLowerCase(), trick: "percent-hack", ip };
  }
  // Bang path: the last two "!"-separated parts are host and user (what split("!") would give, without the array).
  const lastBang = local.lastIndexOf("!");
  if (lastBang >= 0) {
    const user = local.slice(lastBang + 1);
    const host = local.slice(lastBang > 0 ? local.lastIndexOf("!", lastBang - 1) + 1 : 0, lastBang);
    if (user !== "" && host !== "") return { dropbox: `${user}@${host}`.toLowerCase(), trick: "bang", ip };
  }
  const lower = addr.toLowerCase();
  if (ip) return { dropbox: lower, trick: "literal", ip };
  return { dropbox: lower, trick: "none", ip: null };
}

/** Role mailboxes: postmaster@[ip] is how a host itself is addressed, never a relay test's third-party dropbox. */
export const ROLE_LOCAL_PARTS = /^(?:postmaster|abuse|hostmaster|webmaster|root|admin|administrator|security|noc|mailer-daemon)$/i;

/** True when the address is a role mailbox (local part in ROLE_LOCAL_PARTS). */
export function isRoleAddress(dropbox: string): boolean {
  const at = dropbox.lastIndexOf("@");
  return at > 0 && ROLE_LOCAL_PARTS.test(dropbox.slice(0, at));
}

/**
 * Envelope decoder: every RCPT using a relay trick is evidence (strong), with the literal IP as tested IP.
 * A MAIL FROM with an address literal is reported too (weak). Returns the unwrapped recipients as dropboxes, and each
 * looked-at RCPT taken apart (`recipients`, in RCPT order) so callers need not unwrap them again.
 */
export function decodeEnvelope(env: Envelope): { findings: Finding[]; dropboxes: string[]; recipients: UnwrappedRecipient[] } {
  const findings: Finding[] = [];
  const dropboxes: string[] = [];
  const recipients: UnwrappedRecipient[] = [];
  const n = Math.min(env.rcptTo.length, MAX_ENVELOPE_RCPTS);
  for (let i = 0; i < n; i++) {
    const rcpt = env.rcptTo[i] as string; // i < length
    const u = unwrapRecipient(rcpt);
    recipients.push(u);
    if (u.dropbox !== "" && !dropboxes.includes(u.dropbox)) dropboxes.push(u.dropbox);
    if (u.trick === "none") continue;
    // a role mailbox at an address literal is the host's own postmaster, not a test aimed at a dropbox
    if (u.trick === "literal" && isRoleAddress(u.dropbox)) continue;
    const f: Finding = { decoder: `envelope-${u.trick}`, field: "rcpt", found: excerpt(rcpt), strong: true };
    if (u.ip) f.ip = u.ip;
    findings.push(f);
  }
  if (env.mailFrom) {
    const u = unwrapRecipient(env.mailFrom);
    if (u.ip) findings.push({ decoder: "envelope-literal", field: "mail-from", found: excerpt(env.mailFrom), ip: u.ip, strong: false });
  }
  return { findings, dropboxes, recipients };
}
