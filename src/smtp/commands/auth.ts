// AUTH: without SASL the persona refuses as the real server does; with `auth.enabled` it runs PLAIN / LOGIN / CRAM-MD5
// exchanges. Every attempt's mechanism, user name and password is recorded either way.
import { randomBytes } from "node:crypto";
import type { Session } from "../session.js";

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decode64(s: string): string | null {
  if (!B64.test(s) || s.length % 4 === 1) return null;
  return Buffer.from(s, "base64").toString("utf8");
}

function parsePlain(decoded: string): { username: string | null; password: string | null } {
  const parts = decoded.split("\u0000");
  if (parts.length !== 3) return { username: decoded, password: null };
  return { username: parts[1] || parts[0] || null, password: parts[2] ?? null };
}

/** What a client tried to say in an AUTH line even when AUTH is off: mechanism and any initial response. */
function recordUnadvertised(s: Session, arg: string): void {
  const [mech = "", initial] = arg.split(" ");
  let username: string | null = null;
  let password: string | null = null;
  const decoded = initial && initial !== "=" ? decode64(initial) : null;
  if (decoded !== null) {
    if (mech.toUpperCase() === "PLAIN") ({ username, password } = parsePlain(decoded));
    else username = decoded;
  }
  s.recordAuth({ mechanism: mech.toUpperCase().slice(0, 32), username, password, accepted: false });
}

function finish(s: Session, mechanism: string, username: string | null, password: string | null): void {
  const accepted = s.o.auth.accept;
  s.recordAuth({ mechanism, username, password, accepted });
  s.authExchange = null;
  s.mode = "command";
  if (accepted) {
    s.authenticated = true;
    s.reply("authOk");
  } else {
    s.delay(s.o.limits.authFailureDelayMs);
    s.error("authFailed");
  }
}

export function auth(s: Session, arg: string): void {
  if (!s.o.auth.enabled) {
    if (arg !== "") recordUnadvertised(s, arg);
    return s.error("authDisabled");
  }
  const words = arg.split(/[ \t]+/);
  if (arg === "" || words.length > 2) return s.error("authSyntax");
  if (s.authenticated) return s.error("authAlready");
  if (s.txn.mailFrom !== null) return s.error("authInTransaction");
  const [mechRaw = "", initial] = words;
  const mech = mechRaw.toUpperCase();
  if (!s.o.auth.mechanisms.includes(mech)) {
    s.recordAuth({ mechanism: mech.slice(0, 32), username: null, password: null, accepted: false });
    return s.error("authBadMechanism", { arg: mechRaw.slice(0, 32) });
  }
  s.authExchange = { mechanism: mech, step: 0, username: null };
  if (mech === "PLAIN") {
    if (initial !== undefined) {
      const decoded = initial === "=" ? "" : decode64(initial);
      if (decoded === null) return cannotDecode(s, "authCannotDecodeInitial");
      const { username, password } = parsePlain(decoded);
      return finish(s, "PLAIN", username, password);
    }
    s.mode = "auth";
    return s.sendLines(["334 "]);
  }
  if (mech === "LOGIN") {
    if (initial !== undefined) {
      const u = initial === "=" ? "" : decode64(initial);
      if (u === null) return cannotDecode(s, "authCannotDecodeInitial");
      s.authExchange.username = u;
      s.authExchange.step = 1;
      s.mode = "auth";
      return s.sendLines(["334 UGFzc3dvcmQ6"]);
    }
    s.mode = "auth";
    return s.sendLines(["334 VXNlcm5hbWU6"]);
  }
  // CRAM-MD5
  const challenge = `<${randomBytes(8).readBigUInt64BE() % 10_000_000_000n}.${Math.floor(Date.now() / 1000)}@${s.o.hostname}>`;
  s.authExchange.challenge = challenge;
  s.mode = "auth";
  s.sendLines([`334 ${Buffer.from(challenge).toString("base64")}`]);
}

function cannotDecode(s: Session, reply: "authCannotDecode" | "authCannotDecodeInitial" = "authCannotDecode"): void {
  const mech = s.authExchange?.mechanism ?? "";
  s.recordAuth({ mechanism: mech, username: s.authExchange?.username ?? null, password: null, accepted: false });
  s.authExchange = null;
  s.mode = "command";
  s.error(reply);
}

/** A line sent in answer to a 334 challenge. */
export function authContinue(s: Session, line: string): void {
  const ex = s.authExchange;
  if (!ex) {
    s.mode = "command";
    return;
  }
  if (line.trim() === "*") {
    s.recordAuth({ mechanism: ex.mechanism, username: ex.username, password: null, accepted: false });
    s.authExchange = null;
    s.mode = "command";
    return s.error("authAborted");
  }
  if (++ex.step > s.o.limits.maxAuthSteps) return cannotDecode(s);
  const decoded = line === "=" ? "" : decode64(line.trim());
  if (decoded === null) return cannotDecode(s);
  if (ex.mechanism === "PLAIN") {
    const { username, password } = parsePlain(decoded);
    return finish(s, "PLAIN", username, password);
  }
  if (ex.mechanism === "LOGIN") {
    if (ex.username === null) {
      ex.username = decoded;
      s.mode = "auth";
      return s.sendLines(["334 UGFzc3dvcmQ6"]);
    }
    return finish(s, "LOGIN", ex.username, decoded);
  }
  const sp = decoded.lastIndexOf(" ");
  const username = sp === -1 ? decoded : decoded.slice(0, sp);
  const digest = sp === -1 ? "" : decoded.slice(sp + 1);
  finish(s, "CRAM-MD5", username, `cram-md5:${ex.challenge ?? ""}:${digest}`);
}
