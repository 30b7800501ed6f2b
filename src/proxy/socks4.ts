// SOCKS4/4a on a proxy connection: the userid is recorded as a credential, a CONNECT is answered by connect.ts with
// SOCKS4's granted / rejected replies, BIND and unknown commands are rejected.
import { createSocks4Machine, socks4Reply, SOCKS4_GRANTED, SOCKS4_REJECTED } from "./socks.js";
import { createSocksSession } from "./socks-session.js";
import type { ConnectReplies, ProxyConnection, ProxyInput } from "./types.js";

const SOCKS4_REPLIES: ConnectReplies = {
  channel: "socks4",
  success: () => socks4Reply(SOCKS4_GRANTED),
  failure: () => socks4Reply(SOCKS4_REJECTED),
  status: (ok) => (ok ? SOCKS4_GRANTED : SOCKS4_REJECTED),
};

export function createSocks4Session(conn: ProxyConnection): ProxyInput {
  return createSocksSession(conn, { machine: createSocks4Machine(), authMethod: "userid", replies: SOCKS4_REPLIES });
}
