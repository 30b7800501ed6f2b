// MAIL, RCPT and RSET: the envelope. An open relay: every remote recipient is accepted.
import type { Session } from "../session.js";
import { parsePathArg, splitAddress } from "./path.js";

const MAIL_PARAMS = new Set(["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"]);
const RCPT_PARAMS = new Set(["NOTIFY", "ORCPT"]);

export function mail(s: Session, arg: string): void {
  if (s.txn.mailFrom !== null) return s.error("mailNested");
  const p = parsePathArg(arg, "FROM");
  if (!p) return s.error("mailSyntax");
  for (const { key, value } of p.params) {
    if (!MAIL_PARAMS.has(key)) return s.error("mailBadParam", { arg: value === null ? key : `${key}=${value}` });
    if (key === "SIZE" && value !== null && /^\d+$/.test(value) && Number(value) > s.o.limits.maxMessageBytes) {
      return s.error("mailTooBig");
    }
  }
  if (s.txnCount >= s.o.limits.maxTxnPerSession) {
    s.reply("tooManyTransactions");
    return s.close("too-many-transactions");
  }
  s.txnCount++;
  s.txn.mailFrom = p.address;
  s.reply("mailOk", { addr: p.address });
}

/** Whether an address is one of our own mailboxes that does not exist (the real server's "User unknown"). */
export function isUnknownLocal(s: Session, address: string): boolean {
  const { local, domain } = splitAddress(address);
  if (/[%!@"]/.test(local)) return false;
  const d = domain?.toLowerCase() ?? null;
  const host = s.o.hostname.toLowerCase();
  const ours = d === null || d === host || d === "localhost" || d === "localhost.localdomain";
  return ours && !s.o.persona.localUsers.includes(local.toLowerCase());
}

export function rcpt(s: Session, arg: string): void {
  if (s.txn.mailFrom === null) return s.error("rcptNeedMail");
  const p = parsePathArg(arg, "TO");
  if (!p || p.address === "") return s.error("rcptSyntax");
  for (const { key, value } of p.params) {
    if (!RCPT_PARAMS.has(key)) return s.error("mailBadParam", { arg: value === null ? key : `${key}=${value}` });
  }
  if (s.txn.rcptTo.length >= s.o.limits.maxRcptPerTxn) return s.error("rcptTooMany");
  const addr = splitAddress(p.address).domain === null ? `${p.address}@${s.o.hostname}` : p.address;
  if (isUnknownLocal(s, p.address)) return s.error("rcptUnknownLocal", { addr });
  s.txn.rcptTo.push(p.address);
  s.reply("rcptOk", { addr: p.address });
}

export function rset(s: Session, arg: string): void {
  if (arg !== "") return s.error("rsetSyntax");
  s.resetTransaction();
  s.reply("rset");
}
