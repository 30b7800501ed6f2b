// Drives a proxy connection from a SOCKS machine's actions (socks.ts): replies, credentials, CONNECT, refusals.
// Shared by socks4.ts and socks5.ts, which supply the machine and their CONNECT replies.
import { formatHostPort } from "../net/address.js";
import { answerConnect } from "./connect.js";
import type { SocksMachine } from "./socks.js";
import type { ConnectReplies, ProxyConnection, ProxyInput } from "./types.js";

export interface SocksSessionOptions {
  machine: SocksMachine;
  /** The credentials method recorded (SOCKS4 userid, SOCKS5 RFC 1929 user/pass). */
  authMethod: string;
  replies: ConnectReplies;
}

export function createSocksSession(conn: ProxyConnection, o: SocksSessionOptions): ProxyInput {
  const { machine } = o;
  /** Set once the handshake has led somewhere (tunnel, diversion, wait, close): no action after that counts. */
  let over = false;
  return (data) => {
    for (const a of machine.push(data)) {
      if (over) return;
      switch (a.type) {
        case "method":
          conn.send(a.reply);
          break;
        case "auth":
          conn.recording.auth(o.authMethod, a.username, a.password);
          if (a.reply) conn.send(a.reply);
          break;
        case "connect":
          over = true;
          answerConnect(conn, a.target, o.replies, [], machine.rest());
          break;
        case "refused": {
          over = true;
          const cmd = a.command === "udp-associate" ? "UDP" : a.command.toUpperCase();
          conn.recording.request({
            method: cmd,
            target: a.target ? formatHostPort(a.target.host, a.target.port) : "",
            host: a.target?.host ?? null,
            port: a.target?.port ?? null,
            headers: [],
            outcome: "refused",
            status: a.reply[1] ?? null,
            bodyBytes: 0,
          });
          conn.endWith(a.reply, `refused-${a.command}`);
          break;
        }
        case "error":
          over = true;
          conn.endWith(a.reply, `bad-handshake: ${a.reason}`);
          break;
      }
    }
  };
}
