// The SMTP trap's own wiring: reverse DNS of the client, for direct connections and for sockets handed in by the proxy
// trap. The lookup is injected (no real DNS); the connections are real ones on loopback.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { loadOrCreateCert } from "../net/tls-cert.js";
import type { SessionRecord } from "../store/types.js";
import { SmtpClient } from "../../test/helpers/smtp-client.js";
import { tempDir } from "../../test/helpers/sensor.js";
import { LIMIT_DEFAULTS } from "./limits.js";
import { PERSONAS } from "./personas.js";
import { createSmtpTrap, type SmtpTrap } from "./server.js";

const NAMES: Record<string, string> = { "127.0.0.1": "direct-client.example", "127.0.0.9": "proxy-client.example" };

describe("smtp trap reverse DNS", () => {
  let trap: SmtpTrap;
  let port: number;
  let handOffServer: Server;
  let handOffPort: number;
  const asked: string[] = [];
  const rdnsEvents: Array<{ ip: string; hostname: unknown }> = [];
  const ended: SessionRecord[] = [];
  let wake: Array<() => void> = [];
  const notify = (): void => {
    const w = wake;
    wake = [];
    for (const f of w) f();
  };
  async function until<T>(find: () => T | undefined): Promise<T> {
    for (;;) {
      const v = find();
      if (v !== undefined) return v;
      await new Promise<void>((r) => wake.push(r));
    }
  }

  before(async () => {
    const keyPair = await loadOrCreateCert({ dataDir: tempDir(), hostname: "mail.example.org" });
    trap = createSmtpTrap({
      // sendmail's EHLO reply names the client by its reverse DNS: "Hello {rdns} [{ip}]"
      persona: PERSONAS.sendmail,
      hostname: "mail.example.org",
      limits: { ...LIMIT_DEFAULTS, errorSleepMs: 0, authFailureDelayMs: 0 },
      auth: { enabled: false, mechanisms: [], accept: false },
      jitterMs: 0,
      keyPair,
      hooks: {
        storeMessage: () => Promise.resolve({ ok: true }),
        messageDropped: () => {},
        sessionEnded: (rec) => {
          ended.push(rec);
          notify();
        },
        emit: (id, ctx, fields = {}) => {
          if (id === "smtp.rdns") rdnsEvents.push({ ip: ctx.src_ip, hostname: fields.hostname });
          notify();
        },
      },
      rdns: (ip) => {
        asked.push(ip);
        return Promise.resolve(NAMES[ip] ?? null);
      },
    });
    port = (await trap.listen("smtp", "127.0.0.1:0")).port;
    // stands in for the proxy trap: hands each accepted socket over as a diverted CONNECT from 127.0.0.9
    handOffServer = createServer((sock: Socket) =>
      trap.handleSocket(sock, {
        channel: "socks5",
        target: "mx.example.net:25",
        peer: { srcIp: "127.0.0.9", srcPort: sock.remotePort ?? 0, destIp: "127.0.0.1", destPort: 1080 },
        greetingHost: "mx.example.net",
      }),
    );
    await new Promise<void>((r) => handOffServer.listen(0, "127.0.0.1", r));
    handOffPort = (handOffServer.address() as { port: number }).port;
  });
  after(async () => {
    await trap.close(0);
    await new Promise<void>((r) => handOffServer.close(() => r()));
  });

  it("looks up a direct client's name: smtp.rdns event, EHLO reply and session record carry it", async () => {
    const c = await SmtpClient.connect(port);
    await c.reply();
    // the injected lookup resolves at once: by the EHLO reply (a round trip later) its answer is in
    const ehlo = await c.send("EHLO client.example");
    assert.equal(ehlo[0], "250-mail.example.org Hello direct-client.example [127.0.0.1], pleased to meet you");
    assert.deepEqual(rdnsEvents.filter((e) => e.ip === "127.0.0.1"), [{ ip: "127.0.0.1", hostname: "direct-client.example" }]);
    assert.equal(asked.filter((ip) => ip === "127.0.0.1").length, 1);
    await c.quit();
    const rec = await until(() => ended.find((r) => r.srcIp === "127.0.0.1" && r.channel === "direct"));
    assert.equal(rec.rdns, "direct-client.example");
  });

  it("looks up the proxy client's address (not the tunnel's) for a socket handed in by the proxy trap", async () => {
    const c = await SmtpClient.connect(handOffPort);
    assert.match((await c.reply())[0]!, /^220 mx\.example\.net /);
    const ehlo = await c.send("EHLO client.example");
    assert.equal(ehlo[0], "250-mx.example.net Hello proxy-client.example [127.0.0.9], pleased to meet you");
    assert.deepEqual(rdnsEvents.filter((e) => e.ip === "127.0.0.9"), [{ ip: "127.0.0.9", hostname: "proxy-client.example" }]);
    await c.quit();
    const rec = await until(() => ended.find((r) => r.srcIp === "127.0.0.9"));
    assert.equal(rec.rdns, "proxy-client.example");
    assert.equal(rec.channel, "socks5");
  });
});
