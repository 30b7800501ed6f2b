// MAIL, RCPT and RSET: the envelope. An open relay: every remote recipient is accepted.
import type { Session } from "../session.js";
import { parsePathArg, splitAddress } from "./path.js";

const MAIL_PARAMS = new Set(["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"]);
const RCPT_PARAMS = new Set(["NOTIFY", "ORCPT"]);
const BODY_TYPES = new Set(["7BIT", "8BITMIME"]);

export function mail(s: Session, arg: string): void {
  if (s.txn.mailFrom !== null) return s.error("mailNested");
  const p = parsePathArg(arg, "FROM");
  if (!p.ok) return s.error(p.error === "syntax" ? "mailSyntax" : "mailBadAddress", { addr: p.address });
  for (const { key, value } of p.path.params) {
    const shown = value === null ? key : `${key}=${value}`;
    if (!MAIL_PARAMS.has(key)) return s.error("mailBadParam", { arg: shown });
    if (key === "BODY" && !BODY_TYPES.has((value ?? "").toUpperCase())) return s.error("mailBadParam", { arg: shown });
    if (key === "SIZE") {
      if (value === null || !/^\d+$/.test(value)) return s.error("mailBadSize");
      if (Number(value) > s.o.limits.maxMessageBytes) return s.error("mailTooBig");
    }
  }
  if (s.txnCount >= s.o.limits.maxTxnPerSession) {
    s.reply("tooManyTransactions");
    return s.close("too-many-transactions");
  }
  s.txnCount++;
  s.txn.mailFrom = p.path.address;
  s.reply("mailOk", { addr: p.path.address });
}

/** The domains the persona delivers locally (Debian "Internet Site": host name, its domain, localhost forms). */
export function localDomains(hostname: string): Set<string> {
  const host = hostname.toLowerCase();
  const dot = host.indexOf(".");
  const parent = dot === -1 ? null : host.slice(dot + 1);
  return new Set([host, "localhost", "localhost.localdomain", ...(parent && parent.includes(".") ? [parent, `localhost.${parent}`] : [])]);
}

/** Whether an address is one of our own mailboxes that does not exist (the real server's "User unknown"). */
export function isUnknownLocal(s: Session, address: string): boolean {
  const { local, domain } = splitAddress(address);
  if (/[%!@"]/.test(local)) return false;
  const ours = domain === null || localDomains(s.o.hostname).has(domain.toLowerCase());
  return ours && !s.o.persona.localUsers.includes(local.toLowerCase());
}

export function rcpt(s: Session, arg: string): void {
  if (s.txn.mailFrom === null) return s.error("rcptNeedMail");
  const p = parsePathArg(arg, "TO");
  if (!p.ok) return s.error(p.error === "syntax" ? "rcptSyntax" : "rcptBadAddress", { addr: p.address });
  if (p.path.address === "") return s.error("rcptBadAddress", { addr: "" });
  for (const { key, value } of p.path.params) {
    if (!RCPT_PARAMS.has(key)) return s.error("mailBadParam", { arg: value === null ? key : `${key}=${value}` });
  }
  if (s.txn.rcptTo.length >= s.o.limits.maxRcptPerTxn) return s.error("rcptTooMany");
  if (isUnknownLocal(s, p.path.address)) return s.error("rcptUnknownLocal", { addr: p.path.address });
  s.txn.rcptTo.push(p.path.address);
  s.reply("rcptOk", { addr: p.path.address });
}

export function rset(s: Session, arg: string): void {
  if (arg !== "") return s.error("rsetSyntax");
  s.resetTransaction();
  s.reply("rset");
}

/** XCLIENT / XFORWARD: Postfix refuses clients not in its authorized lists. */
export function xclient(s: Session, _arg: string, verb: string): void {
  s.error("xclient", { arg: verb });
}
