// DATA and BDAT (CHUNKING): hand the session to its data modes; the session pump reads the bytes.
import type { Session } from "../session.js";

/** Largest BDAT chunk size we parse; bigger numbers are a syntax error (the size limit applies anyway). */
const MAX_BDAT_CHUNK_DIGITS = 12;

export function data(s: Session, arg: string): void {
  if (s.txn.bdat) return s.error("dataAfterBdat");
  if (arg !== "") return s.error("dataSyntax");
  if (s.txn.mailFrom === null) return s.error("dataNeedRcpt");
  if (s.txn.rcptTo.length === 0) return s.error("dataNoValidRcpt");
  s.reply("dataGo");
  s.startData();
}

export function bdat(s: Session, arg: string): void {
  if (!s.o.persona.chunking) return s.error("unknown", { arg: `BDAT ${arg}` });
  const m = new RegExp(`^(\\d{1,${MAX_BDAT_CHUNK_DIGITS}})(?: +(LAST))? *$`, "i").exec(arg);
  if (!m || m[1] === undefined) {
    // The chunk size is unknown, so the byte stream cannot be followed any more: the session ends.
    s.error("bdatSyntax");
    return s.close("bdat-syntax");
  }
  const size = Number(m[1]);
  const last = m[2] !== undefined;
  if (s.txn.mailFrom === null || s.txn.rcptTo.length === 0) {
    // The chunk's bytes still follow: read and discard them, then answer.
    s.error("bdatNeedRcpt");
    if (size > 0) s.startBdat(size, last, true);
    return;
  }
  s.startBdat(size, last, false);
}
