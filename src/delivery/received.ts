// The one Received header a delivered relay test gets, in the style of the persona that accepted it: what the
// spammer's parser expects an open relay of that brand to have added.
import { isIP } from "node:net";
import type { PersonaName } from "../smtp/personas.js";

export interface TraceInfo {
  persona: PersonaName;
  /** Our host name (the persona's). */
  hostname: string;
  helo: string | null;
  clientIp: string;
  rdns: string | null;
  esmtp: boolean;
  tls: boolean;
  queueId: string;
  mailFrom: string;
  /** The transaction's recipients: a single one is named in a "for" clause, as the real servers do. */
  rcptTo: string[];
  receivedAt: number;
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");
const clock = (d: Date) => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;

/** Postfix mail_date(): "%a, %e %b %Y %H:%M:%S +0000 (UTC)" (day space-padded). */
export function postfixDate(t: number): string {
  const d = new Date(t);
  return `${DAYS[d.getUTCDay()]}, ${String(d.getUTCDate()).padStart(2, " ")} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${clock(d)} +0000 (UTC)`;
}

/** sendmail's arpadate: "Sun, 1 Dec 2013 12:17:21 GMT"-style with a numeric zone. */
function sendmailDate(t: number): string {
  const d = new Date(t);
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${clock(d)} GMT`;
}

/** Exim's tod_full: "Sun, 01 Dec 2013 12:17:21 +0000". */
function eximDate(t: number): string {
  const d = new Date(t);
  return `${DAYS[d.getUTCDay()]}, ${p2(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${clock(d)} +0000`;
}

/** Header text must not carry the client's CR/LF (or other controls) into the message. */
function clean(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, "").slice(0, 255);
}

function ipLiteral(ip: string): string {
  return isIP(ip) === 6 ? `IPv6:${ip}` : ip;
}

/** The header with its trailing CRLF, continuation lines folded with CRLF TAB. */
export function receivedHeader(t: TraceInfo): string {
  const helo = t.helo ? clean(t.helo) : null;
  const rdns = t.rdns ? clean(t.rdns) : null;
  const ip = clean(t.clientIp);
  /** Postfix and sendmail write IPv6 clients as RFC 5321 literals ("IPv6:2001:db8::1"); Exim does not. */
  const lit = ipLiteral(ip);
  const rcpt = t.rcptTo.length === 1 ? clean(t.rcptTo[0]!) : null;
  const lines: string[] = [];
  switch (t.persona) {
    case "postfix": {
      const proto = t.esmtp ? (t.tls ? "ESMTPS" : "ESMTP") : "SMTP";
      lines.push(`Received: from ${helo ?? rdns ?? "unknown"} (${rdns ?? "unknown"} [${lit}])`);
      lines.push(`\tby ${t.hostname} (Postfix) with ${proto} id ${t.queueId}${rcpt ? "" : `; ${postfixDate(t.receivedAt)}`}`);
      if (rcpt) lines.push(`\tfor <${rcpt}>; ${postfixDate(t.receivedAt)}`);
      break;
    }
    case "sendmail": {
      const proto = t.esmtp ? (t.tls ? "ESMTPS" : "ESMTP") : "SMTP";
      lines.push(`Received: from ${helo ?? `[${lit}]`} (${rdns ? `${rdns} ` : ""}[${lit}])`);
      lines.push(`\tby ${t.hostname} (8.17.1.9/8.17.1.9/Debian-2) with ${proto} id ${t.queueId}${rcpt ? "" : `; ${sendmailDate(t.receivedAt)}`}`);
      if (rcpt) lines.push(`\tfor <${rcpt}>; ${sendmailDate(t.receivedAt)}`);
      break;
    }
    case "exim": {
      const proto = t.esmtp ? (t.tls ? "esmtps" : "esmtp") : "smtp";
      const from = rdns ? `${rdns} ([${ip}]${helo ? ` helo=${helo}` : ""})` : `[${ip}]${helo ? ` (helo=${helo})` : ""}`;
      lines.push(`Received: from ${from}`);
      lines.push(`\tby ${t.hostname} with ${proto} (Exim 4.96)`);
      lines.push(`\t(envelope-from <${clean(t.mailFrom)}>)`);
      lines.push(`\tid ${t.queueId}${rcpt ? "" : `; ${eximDate(t.receivedAt)}`}`);
      if (rcpt) lines.push(`\tfor ${rcpt}; ${eximDate(t.receivedAt)}`);
      break;
    }
  }
  return lines.join("\r\n") + "\r\n";
}
