// SOCKS5 (RFC 1928, RFC 1929) on a proxy connection: user/pass credentials recorded, a CONNECT answered by connect.ts
// (success names the sensor's address and an ephemeral port), BIND and UDP ASSOCIATE refused.
import { ephemeralPort } from "./connect.js";
import { createSocks5Machine, socks5Reply, SOCKS5_REP } from "./socks.js";
import { createSocksSession } from "./socks-session.js";
import type { ConnectReplies, ProxyConnection, ProxyInput } from "./types.js";

export function createSocks5Session(conn: ProxyConnection): ProxyInput {
  const replies: ConnectReplies = {
    channel: "socks5",
    success: () => socks5Reply(SOCKS5_REP.succeeded, { ip: conn.ctx.dest_ip, port: ephemeralPort() }),
    failure: (timedOut) => socks5Reply(timedOut ? SOCKS5_REP.hostUnreachable : SOCKS5_REP.connectionRefused),
    status: (ok) => (ok ? SOCKS5_REP.succeeded : SOCKS5_REP.connectionRefused),
  };
  return createSocksSession(conn, { machine: createSocks5Machine(), authMethod: "userpass", replies });
}
