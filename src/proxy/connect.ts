// What a CONNECT (HTTP or SOCKS) leads to: a mail port is handed to the SMTP trap, any other target is answered as
// proxy.otherTargets says (a tunnel we serve ourselves, a timeout, or a close).
import { randomInt } from "node:crypto";
import { formatHostPort } from "../net/address.js";
import type { SocksTarget } from "./socks.js";
import type { ConnectReplies, ProxyConnection } from "./types.js";

/** A port as the kernel would pick for an outgoing connection (SOCKS5 BND.PORT, the judge's REMOTE_PORT). */
export function ephemeralPort(): number {
  return randomInt(32768, 61000);
}

export function answerConnect(conn: ProxyConnection, t: SocksTarget, replies: ConnectReplies, headers: Array<[string, string]>, rest: Buffer): void {
  conn.disarmHandshake();
  const record = conn.recording.request;
  const target = formatHostPort(t.host, t.port);
  const base = { method: "CONNECT", target, host: t.host, port: t.port, headers, bodyBytes: 0 };
  const { mailPorts, otherTargets } = conn.settings;
  if (mailPorts.includes(t.port)) {
    record({ ...base, outcome: "smtp-diverted", status: replies.status(true) });
    // Two writes, not one corked: a real proxy's 200 can never arrive in the same segment as the far server's
    // banner, and a detector reading both in one packet would have its tell.
    conn.send(replies.success());
    conn.divert(t, replies.channel, target, rest);
    return;
  }
  if (otherTargets === "close") {
    record({ ...base, outcome: "closed", status: null });
    conn.destroy("other-target-closed");
    return;
  }
  if (otherTargets === "timeout") {
    record({ ...base, outcome: "timeout", status: replies.status(false) });
    conn.wait(() => conn.endWith(replies.failure(true, t.host, target), "other-target-timeout"));
    return;
  }
  record({ ...base, outcome: "tunnel", status: replies.status(true) });
  conn.send(replies.success());
  conn.tunnel(t, rest);
}
