// A proxy trap alone on 127.0.0.1:0 for the protocol modules' tests: what it emits, records and hands to the SMTP
// trap is captured (the hand-off answers with a banner and closes, standing in for the SMTP trap).
import type { Socket } from "node:net";
import type { EventId } from "../../src/events/catalog.js";
import type { HandOff } from "../../src/smtp/server.js";
import { PROXY_LIMIT_DEFAULTS } from "../../src/proxy/limits.js";
import { createProxyTrap, type ProxyTrapOptions } from "../../src/proxy/server.js";
import type { ProxyRequestRecord, ProxySessionEnd } from "../../src/proxy/types.js";

export interface TestProxy {
  port: number;
  events: Array<{ id: EventId; fields: Record<string, unknown> }>;
  requests: ProxyRequestRecord[];
  sessions: ProxySessionEnd[];
  handOffs: HandOff[];
  /** Resolves with the session row of the connection from this client port, once it has ended. */
  sessionOf(srcPort: number): Promise<ProxySessionEnd>;
  close(): Promise<void>;
}

export async function startProxy(overrides: Partial<ProxyTrapOptions> = {}): Promise<TestProxy> {
  const events: TestProxy["events"] = [];
  const requests: ProxyRequestRecord[] = [];
  const sessions: ProxySessionEnd[] = [];
  const handOffs: HandOff[] = [];
  const waiters: Array<() => void> = [];
  const trap = createProxyTrap({
    smtp: {
      handleSocket(socket: Socket, handOff: HandOff) {
        handOffs.push(handOff);
        socket.end(`220 ${handOff.greetingHost ?? "trap"} ESMTP\r\n`);
      },
    },
    hostname: "mail.example.org",
    sensorIps: ["192.0.2.1"],
    mailPorts: [25, 465, 587],
    implicitTlsPorts: [465],
    otherTargets: "generic",
    limits: { ...PROXY_LIMIT_DEFAULTS },
    emit: (id, _ctx, fields = {}) => events.push({ id, fields }),
    recorder: {
      request: (r) => requests.push(r),
      sessionEnded: (s) => {
        sessions.push(s);
        for (const w of waiters.splice(0)) w();
      },
    },
    ...overrides,
  });
  const { port } = await trap.listen("127.0.0.1:0");
  return {
    port,
    events,
    requests,
    sessions,
    handOffs,
    async sessionOf(srcPort) {
      for (;;) {
        const s = sessions.find((x) => x.srcPort === srcPort);
        if (s) return s;
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    close: () => trap.close(),
  };
}
