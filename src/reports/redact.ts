// RFC 6590 redaction of trap recipients: the local part becomes a keyed hash, the same everywhere in one report
// (Original-Rcpt-To and the attached original), so the receiver can correlate but not learn the address.
import { createHmac } from "node:crypto";

export const REDACTED_PREFIX = "redacted-";

export function redactAddress(address: string, key: string): string {
  const at = address.lastIndexOf("@");
  const local = at > 0 ? address.slice(0, at) : address;
  const domain = at > 0 ? address.slice(at + 1) : "invalid";
  const tag = createHmac("sha256", key).update(local.toLowerCase()).digest("hex").slice(0, 12);
  return `${REDACTED_PREFIX}${tag}@${domain}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replaces each address (case-insensitively) in text by its redacted form. */
export function redactInText(text: string, addresses: string[], key: string): string {
  let out = text;
  for (const a of [...new Set(addresses.map((x) => x.toLowerCase()))].sort((x, y) => y.length - x.length)) {
    if (!a.includes("@")) continue;
    out = out.replace(new RegExp(escapeRegExp(a), "gi"), redactAddress(a, key));
  }
  return out;
}
