// The handler table: one entry per verb. Personas decide texts and features; handlers decide state.
import type { Session } from "../session.js";
import { auth } from "./auth.js";
import { bdat, data } from "./data.js";
import { mail, rcpt, rset, xclient } from "./envelope.js";
import { ehlo, helo } from "./hello.js";
import { etrn, expn, help, noop, quit, vrfy } from "./misc.js";
import { starttls } from "./starttls.js";

export type Handler = (s: Session, arg: string, verb: string) => void | Promise<void>;

export const HANDLERS: Record<string, Handler> = {
  HELO: helo,
  EHLO: ehlo,
  MAIL: mail,
  RCPT: rcpt,
  RSET: rset,
  DATA: data,
  BDAT: bdat,
  NOOP: noop,
  QUIT: quit,
  VRFY: vrfy,
  EXPN: expn,
  HELP: help,
  ETRN: etrn,
  STARTTLS: starttls,
  AUTH: auth,
  XCLIENT: xclient,
  XFORWARD: xclient,
};

export { authContinue } from "./auth.js";
