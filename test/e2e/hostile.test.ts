// Hostile input: thousands of idle connections, binary garbage, random chunking of command streams. Every client gets
// the persona's replies or a close; the sensor keeps serving.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startSensor, type TestSensor } from "../helpers/sensor.js";
import { SmtpClient } from "../helpers/smtp-client.js";

/** Idle connections held open at once in the test (the benchmark goes to 10,000). */
const IDLE_CONNECTIONS = 2000;

/** Sends `chunks` one write at a time and collects everything the server says until it closes or goes quiet. */
async function converse(port: number, chunks: Buffer[], quit = true): Promise<string> {
  const sock: Socket = connect({ host: "127.0.0.1", port });
  let out = "";
  sock.setEncoding("latin1");
  sock.on("data", (d: string) => (out += d));
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  for (const c of chunks) {
    if (sock.destroyed) break;
    await new Promise<void>((r) => sock.write(c, () => r()));
  }
  if (quit && !sock.destroyed) sock.write("\r\nQUIT\r\n");
  await new Promise<void>((r) => {
    sock.once("close", () => r());
    sock.setTimeout(5000, () => {
      sock.destroy();
      r();
    });
  });
  return out;
}

describe("hostile input", () => {
  let t: TestSensor;
  before(async () => {
    t = await startSensor({ limits: { maxSessions: IDLE_CONNECTIONS + 100, maxSessionsPerIp: IDLE_CONNECTIONS + 100 } });
  });
  after(() => t.close());

  it(`greets ${IDLE_CONNECTIONS} idle connections and still serves a real client`, async () => {
    const socks: Socket[] = [];
    try {
      const greeted = await Promise.all(
        Array.from({ length: IDLE_CONNECTIONS }, () => new Promise<boolean>((resolve) => {
          const s = connect({ host: "127.0.0.1", port: t.port });
          socks.push(s);
          s.on("error", () => resolve(false));
          s.once("data", (d) => resolve(d.toString().startsWith("220 ")));
        })),
      );
      assert.equal(greeted.filter(Boolean).length, IDLE_CONNECTIONS);
      assert.equal(t.sensor.smtp.activeSessions, IDLE_CONNECTIONS);
      const c = await SmtpClient.connect(t.port);
      assert.match((await c.reply())[0]!, /^220 /);
      await c.expect("EHLO still-here", "250");
      await c.quit();
    } finally {
      for (const s of socks) s.destroy();
    }
  });

  it("answers a TLS ClientHello, NUL bytes and 8-bit bytes on the plain port calmly", async () => {
    const hello = Buffer.from("16030100c8010000c40303" + "ab".repeat(32) + "000004c02fc030", "hex");
    const out = await converse(t.port, [hello, Buffer.from("\r\n"), Buffer.from("NOOP\0x\r\n\xff\xfe\r\n", "latin1")]);
    assert.match(out, /^220 .*\r\n500 5\.5\.2 Error: bad UTF-8 syntax\r\n250 2\.0\.0 Ok\r\n500 5\.5\.2 Error: bad UTF-8 syntax\r\n/);
  });

  it("survives random binary garbage and keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { minLength: 1, maxLength: 5 }), async (chunks) => {
        const out = await converse(t.port, chunks.map((c) => Buffer.from(c)));
        // Every line the server sent is an SMTP reply.
        for (const line of out.split("\r\n").filter(Boolean)) assert.match(line, /^\d{3}[ -]/);
      }),
      { numRuns: 40 },
    );
    const c = await SmtpClient.connect(t.port);
    assert.match((await c.reply())[0]!, /^220 /);
    await c.quit();
  });

  it("gives the same replies however a command stream is chunked", async () => {
    const commands = fc.constantFrom(
      "EHLO a.example", "HELO b", "MAIL FROM:<x@y.example>", "RCPT TO:<r@yahoo.com>", "RCPT TO:<>", "RSET", "NOOP", "VRFY root",
      "DATA", "Subject: s\r\n\r\nbody\r\n.", "BDAT 3\r\nabc", "FOO", "", "mail from:<broken", "ETRN x.example", "AUTH LOGIN", "*",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(commands, { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 10 }), async (cmds, cuts) => {
        const stream = Buffer.from(cmds.map((c) => c + "\r\n").join("") + "QUIT\r\n");
        const whole = await converse(t.port, [stream], false);
        const pieces: Buffer[] = [];
        for (let pos = 0, i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          pieces.push(stream.subarray(pos, pos + n));
          pos += n;
        }
        const chunked = await converse(t.port, pieces, false);
        const strip = (s: string) => s.replace(/queued as [0-9A-F]+/g, "queued as Q");
        assert.equal(strip(chunked), strip(whole));
      }),
      { numRuns: 25 },
    );
  });
  it("serves other clients while a crafted 9 MB HTML message is parsed, and stores it", async () => {
    // mailparser's HTML-to-text takes seconds on it: in a worker thread (src/analysis/pool.ts), not in the sessions'.
    const big = await SmtpClient.connect(t.port);
    await big.reply();
    await big.startData({ greet: "EHLO big.example", from: "a@big.example", to: "b@dropbox.example" });
    const message = `Subject: big\r\nContent-Type: text/html\r\n\r\n${"<div><p><b>a</b></p></div>\r\n".repeat(330_000)}`;
    await new Promise<void>((r) => big.socket.write(Buffer.from(`${message}.\r\n`, "latin1"), () => r()));
    let acked = false;
    const done = big.reply().then((r) => {
      acked = true;
      return r;
    });
    // Another client keeps talking until the big message is acknowledged; in the sessions' thread the HTML-to-text
    // conversion alone would hold every reply for seconds.
    const c = await SmtpClient.connect(t.port);
    assert.match((await c.reply())[0]!, /^220 /);
    let longest = 0;
    let replies = 0;
    while (!acked && replies < 200_000) {
      const t0 = performance.now();
      await c.expect("EHLO meanwhile.example", "250");
      longest = Math.max(longest, performance.now() - t0);
      replies++;
    }
    await c.quit();
    assert.ok(replies > 0);
    assert.ok(longest < 1500, `another client waited ${longest.toFixed(0)} ms for a reply`);
    assert.match((await done).join("\n"), /^250 /);
    big.destroy();
    // Parsed, or given up past analysis.maxHeapMb (it needs ~500 MB): stored whole either way.
    const stored = await t.waitEvent("smtp.message.stored", (e) => e.mail_from === "a@big.example");
    assert.equal(stored.size, message.length);
    assert.equal(stored.body_stored, true);
  });
});
