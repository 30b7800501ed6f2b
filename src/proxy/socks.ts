// SOCKS4/4a and SOCKS5 (RFC 1928, RFC 1929) handshakes as pure incremental machines: bytes in, actions out.
// No I/O: the server writes the replies the actions carry and decides what a CONNECT leads to.
import { SOCKS4_MAX_FIELD_BYTES } from "./limits.js";

export type HostType = "ipv4" | "ipv6" | "domain";

export interface SocksTarget {
  host: string;
  hostType: HostType;
  port: number;
}

/** SOCKS4 reply codes. */
export const SOCKS4_GRANTED = 0x5a;
export const SOCKS4_REJECTED = 0x5b;

/** SOCKS5 reply codes (RFC 1928 section 6). */
export const SOCKS5_REP = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

export const SOCKS5_METHOD_NONE = 0x00;
export const SOCKS5_METHOD_USERPASS = 0x02;
export const SOCKS5_NO_ACCEPTABLE = 0xff;

export type SocksCommand = "connect" | "bind" | "udp-associate";

export type SocksAction =
  /** SOCKS5: the method we chose; reply must be written. */
  | { type: "method"; offered: number[]; method: number; reply: Buffer }
  /** SOCKS5 RFC 1929 credentials (always accepted) or a SOCKS4 userid. */
  | { type: "auth"; username: string; password: string | null; reply: Buffer | null }
  /** A CONNECT the server must answer (success or failure reply, see socks4Reply / socks5Reply). */
  | { type: "connect"; target: SocksTarget; userid?: string }
  /** A command we refuse; reply must be written, then the connection closed. */
  | { type: "refused"; command: SocksCommand | "unknown"; target: SocksTarget | null; reply: Buffer }
  /** Malformed input: write reply if any, then close. */
  | { type: "error"; reason: string; reply: Buffer | null };

export interface SocksMachine {
  /** Feed bytes; returns the actions they complete (in order). After connect/refused/error, returns []. */
  push(chunk: Uint8Array): SocksAction[];
  /** True once a connect, refused or error action has been returned. */
  readonly done: boolean;
  /** Bytes received after the completed handshake (to hand on with the tunnel). */
  rest(): Buffer;
}

function ipv4(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Uint8Array, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push((((b[at + 2 * i] ?? 0) << 8) | (b[at + 2 * i + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) (best = i), (bestLen = j - i);
    i = j;
  }
  if (best === -1) return groups.join(":");
  return groups.slice(0, best).join(":") + "::" + groups.slice(best + bestLen).join(":");
}

/** Host names as sent, made printable: bytes outside printable ASCII become \xNN. */
export function printableHost(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += c > 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : "\\x" + c.toString(16).padStart(2, "0");
  return s;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

/** Accumulates bytes in one growing buffer (amortized O(n), no quadratic concat on 1-byte chunks). */
class Acc {
  buf: Buffer = Buffer.alloc(64);
  len = 0;
  push(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + chunk.length));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }
  view(): Buffer {
    return this.buf.subarray(0, this.len);
  }
  drop(n: number): void {
    this.buf.copy(this.buf, 0, n, this.len);
    this.len -= n;
  }
}

// ---- SOCKS4 / 4a ---------------------------------------------------------------------------------------------------

export type Socks4Parse =
  | { status: "more" }
  | { status: "ok"; command: number; target: SocksTarget; userid: string; consumed: number }
  | { status: "error"; reason: string };

/** Parses one SOCKS4/4a request from the start of b. Pure; never throws. */
export function parseSocks4(b: Uint8Array): Socks4Parse {
  if (b.length === 0) return { status: "more" };
  if (b[0] !== 0x04) return { status: "error", reason: "bad-version" };
  if (b.length < 8) return { status: "more" };
  const command = b[1]!;
  const port = (b[2]! << 8) | b[3]!;
  const userEnd = b.indexOf(0, 8);
  if (userEnd === -1) return b.length - 8 > SOCKS4_MAX_FIELD_BYTES ? { status: "error", reason: "userid-too-long" } : { status: "more" };
  if (userEnd - 8 > SOCKS4_MAX_FIELD_BYTES) return { status: "error", reason: "userid-too-long" };
  const userid = latin1(b.subarray(8, userEnd));
  // SOCKS4a: DSTIP 0.0.0.x with x != 0 means a host name follows the userid.
  const is4a = b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] !== 0;
  if (!is4a) return { status: "ok", command, target: { host: ipv4(b, 4), hostType: "ipv4", port }, userid, consumed: userEnd + 1 };
  const hostEnd = b.indexOf(0, userEnd + 1);
  if (hostEnd === -1) return b.length - userEnd - 1 > SOCKS4_MAX_FIELD_BYTES ? { status: "error", reason: "host-too-long" } : { status: "more" };
  if (hostEnd - userEnd - 1 > SOCKS4_MAX_FIELD_BYTES) return { status: "error", reason: "host-too-long" };
  if (hostEnd === userEnd + 1) return { status: "error", reason: "empty-host" };
  const host = printableHost(b.subarray(userEnd + 1, hostEnd));
  return { status: "ok", command, target: { host, hostType: "domain", port }, userid, consumed: hostEnd + 1 };
}

/** A SOCKS4 reply: VN=0, CD, DSTPORT, DSTIP (zeros: clients ignore them for CONNECT). */
export function socks4Reply(code: number): Buffer {
  return Buffer.from([0x00, code, 0, 0, 0, 0, 0, 0]);
}

export function createSocks4Machine(): SocksMachine {
  const acc = new Acc();
  let done = false;
  return {
    get done() {
      return done;
    },
    rest: () => Buffer.from(acc.view()),
    push(chunk) {
      acc.push(chunk);
      if (done) return [];
      const r = parseSocks4(acc.view());
      if (r.status === "more") return [];
      done = true;
      if (r.status === "error") return [{ type: "error", reason: r.reason, reply: r.reason === "bad-version" ? null : socks4Reply(SOCKS4_REJECTED) }];
      acc.drop(r.consumed);
      const actions: SocksAction[] = [];
      if (r.userid !== "") actions.push({ type: "auth", username: r.userid, password: null, reply: null });
      if (r.command === 0x01) actions.push({ type: "connect", target: r.target, userid: r.userid });
      else actions.push({ type: "refused", command: r.command === 0x02 ? "bind" : "unknown", target: r.target, reply: socks4Reply(SOCKS4_REJECTED) });
      return actions;
    },
  };
}

// ---- SOCKS5 --------------------------------------------------------------------------------------------------------

/** A SOCKS5 reply; BND.ADDR/BND.PORT as given (IPv4 or IPv6), else 0.0.0.0:0. */
export function socks5Reply(rep: number, bound?: { ip: string; port: number }): Buffer {
  if (bound && /^\d+\.\d+\.\d+\.\d+$/.test(bound.ip)) {
    const p = bound.ip.split(".").map(Number);
    return Buffer.from([0x05, rep, 0x00, 0x01, p[0]!, p[1]!, p[2]!, p[3]!, (bound.port >> 8) & 0xff, bound.port & 0xff]);
  }
  return Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}

type S5Phase = "greeting" | "auth" | "request" | "done";

export type Socks5Step =
  | { status: "more" }
  | { status: "error"; reason: string; reply: Buffer | null }
  | { status: "ok"; consumed: number; action: SocksAction; next: S5Phase };

/** One step of the SOCKS5 handshake in phase `phase`, from the start of b. Pure; never throws. */
export function stepSocks5(phase: S5Phase, b: Uint8Array): Socks5Step {
  if (phase === "done" || b.length === 0) return { status: "more" };
  if (phase === "greeting") {
    if (b[0] !== 0x05) return { status: "error", reason: "bad-version", reply: null };
    if (b.length < 2) return { status: "more" };
    const n = b[1]!;
    if (n === 0) return { status: "error", reason: "no-methods", reply: Buffer.from([0x05, SOCKS5_NO_ACCEPTABLE]) };
    if (b.length < 2 + n) return { status: "more" };
    const offered = [...b.subarray(2, 2 + n)];
    // Credentials are worth recording: user/pass when offered, else no auth; anything else (GSSAPI only) refused.
    const method = offered.includes(SOCKS5_METHOD_USERPASS)
      ? SOCKS5_METHOD_USERPASS
      : offered.includes(SOCKS5_METHOD_NONE)
        ? SOCKS5_METHOD_NONE
        : SOCKS5_NO_ACCEPTABLE;
    const reply = Buffer.from([0x05, method]);
    if (method === SOCKS5_NO_ACCEPTABLE) return { status: "error", reason: "no-acceptable-method", reply };
    return { status: "ok", consumed: 2 + n, action: { type: "method", offered, method, reply }, next: method === SOCKS5_METHOD_USERPASS ? "auth" : "request" };
  }
  if (phase === "auth") {
    // RFC 1929: VER=1 ULEN UNAME PLEN PASSWD
    if (b[0] !== 0x01) return { status: "error", reason: "bad-auth-version", reply: Buffer.from([0x01, 0x01]) };
    if (b.length < 2) return { status: "more" };
    const ulen = b[1]!;
    if (b.length < 3 + ulen) return { status: "more" };
    const plen = b[2 + ulen]!;
    if (b.length < 3 + ulen + plen) return { status: "more" };
    const username = latin1(b.subarray(2, 2 + ulen));
    const password = latin1(b.subarray(3 + ulen, 3 + ulen + plen));
    return { status: "ok", consumed: 3 + ulen + plen, action: { type: "auth", username, password, reply: Buffer.from([0x01, 0x00]) }, next: "request" };
  }
  // request: VER CMD RSV ATYP DST.ADDR DST.PORT
  if (b[0] !== 0x05) return { status: "error", reason: "bad-version", reply: null };
  if (b.length < 5) return { status: "more" };
  const cmd = b[1]!;
  const atyp = b[3]!;
  let addrLen: number;
  let addrAt = 4;
  if (atyp === 0x01) addrLen = 4;
  else if (atyp === 0x04) addrLen = 16;
  else if (atyp === 0x03) {
    addrLen = b[4]!;
    addrAt = 5;
    if (addrLen === 0) return { status: "error", reason: "empty-host", reply: socks5Reply(SOCKS5_REP.generalFailure) };
  } else return { status: "error", reason: "bad-address-type", reply: socks5Reply(SOCKS5_REP.addressTypeNotSupported) };
  const end = addrAt + addrLen + 2;
  if (b.length < end) return { status: "more" };
  const host =
    atyp === 0x01 ? ipv4(b, addrAt) : atyp === 0x04 ? ipv6(b, addrAt) : printableHost(b.subarray(addrAt, addrAt + addrLen));
  const hostType: HostType = atyp === 0x01 ? "ipv4" : atyp === 0x04 ? "ipv6" : "domain";
  const target: SocksTarget = { host, hostType, port: (b[end - 2]! << 8) | b[end - 1]! };
  if (cmd === 0x01) return { status: "ok", consumed: end, action: { type: "connect", target }, next: "done" };
  const command: SocksCommand | "unknown" = cmd === 0x02 ? "bind" : cmd === 0x03 ? "udp-associate" : "unknown";
  return { status: "ok", consumed: end, action: { type: "refused", command, target, reply: socks5Reply(SOCKS5_REP.commandNotSupported) }, next: "done" };
}

export function createSocks5Machine(): SocksMachine {
  const acc = new Acc();
  let phase: S5Phase = "greeting";
  let done = false;
  return {
    get done() {
      return done;
    },
    rest: () => Buffer.from(acc.view()),
    push(chunk) {
      acc.push(chunk);
      const actions: SocksAction[] = [];
      while (!done) {
        const r = stepSocks5(phase, acc.view());
        if (r.status === "more") break;
        if (r.status === "error") {
          done = true;
          actions.push({ type: "error", reason: r.reason, reply: r.reply });
          break;
        }
        acc.drop(r.consumed);
        actions.push(r.action);
        phase = r.next;
        if (phase === "done") done = true;
      }
      return actions;
    },
  };
}
