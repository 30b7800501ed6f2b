// Session ids for the SMTP and proxy traps (and their events): 12 random hex digits, Cowrie style.
import { randomBytes } from "node:crypto";

/** Random bytes drawn at once: ids are cut from this pool, so a new connection costs no RNG call (or syscall). */
const ID_POOL_BYTES = 6 * 1024;
const ID_BYTES = 6;
let pool = Buffer.alloc(0);
let pos = 0;

export function sessionId(): string {
  if (pos + ID_BYTES > pool.length) {
    pool = randomBytes(ID_POOL_BYTES);
    pos = 0;
  }
  pos += ID_BYTES;
  return pool.toString("hex", pos - ID_BYTES, pos);
}
