// NOOP, QUIT, VRFY, EXPN, HELP, ETRN.
import type { Session } from "../session.js";
import { isUnknownLocal } from "./envelope.js";

export function noop(s: Session, arg: string): void {
  if (arg !== "") return s.reply("noopSyntax");
  s.reply("noop");
}

export function quit(s: Session, arg: string): void {
  s.reply(arg === "" ? "quit" : "quitSyntax");
  s.close("quit");
}

export function vrfy(s: Session, arg: string): void {
  if (!s.o.persona.vrfy) return s.error("unknown", { arg: "VRFY" });
  if (arg === "") return s.error("vrfySyntax");
  const address = arg.startsWith("<") && arg.endsWith(">") ? arg.slice(1, -1) : arg;
  if (isUnknownLocal(s, address)) return s.error("vrfyUnknown", { addr: address });
  s.reply("vrfyOk", { arg });
}

export function expn(s: Session): void {
  s.error("expn");
}

export function help(s: Session): void {
  const text = s.o.persona.replies.help;
  if (/^[45]/.test(text)) s.error("help");
  else s.reply("help");
}

export function etrn(s: Session, arg: string): void {
  if (!s.o.persona.etrn) return s.error("unknown", { arg: "ETRN" });
  if (arg === "") return s.error("etrnSyntax");
  // Postfix: no fast-flush domain is configured, so every ETRN gets "service unavailable" for the named domain.
  s.error("etrnOk", { arg: arg.replace(/^[@#]/, "") });
}
