// HELO and EHLO: the greeting exchange and the persona's EHLO keyword list. Either one ends a transaction.
import type { Session } from "../session.js";
import { fill } from "../personas.js";

export function helo(s: Session, arg: string): void {
  if (arg === "") return s.error("heloSyntax");
  s.helo = arg;
  s.esmtp = false;
  s.resetTransaction();
  s.reply("helo");
}

export function ehloKeywords(s: Session): string[] {
  const { persona, limits, auth, secureContext } = s.o;
  const mechs = auth.mechanisms.join(" ");
  return persona.ehloKeywords
    .filter((k) => {
      if (k === "STARTTLS") return secureContext !== null && s.tls === null;
      if (k.startsWith("AUTH")) return auth.enabled;
      if (k === "CHUNKING") return persona.chunking;
      return true;
    })
    .map((k) => fill(k.replace("{mechs}", mechs), s.vars({ size: limits.maxMessageBytes })));
}

export function ehlo(s: Session, arg: string): void {
  if (arg === "") return s.error("ehloSyntax");
  s.helo = arg;
  s.esmtp = true;
  s.resetTransaction();
  const lines = [fill(s.o.persona.ehloGreeting, s.vars()), ...ehloKeywords(s)];
  s.sendLines(lines.map((l, i) => (i === lines.length - 1 ? "250 " : "250-") + l));
}
