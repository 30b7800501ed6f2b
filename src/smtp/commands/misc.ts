// NOOP, QUIT, VRFY, EXPN, HELP, ETRN.
import type { Session } from "../session.js";
import { isUnknownLocal } from "./envelope.js";
import { splitAddress } from "./path.js";

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
  if (isUnknownLocal(s, address)) {
    const addr = splitAddress(address).domain === null ? `${address}@${s.o.hostname}` : address;
    return s.error("vrfyUnknown", { addr });
  }
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
  if (s.helo === null) return s.error("etrnNeedHelo");
  if (arg === "") return s.error("etrnSyntax");
  s.error("etrnOk", { arg });
}
