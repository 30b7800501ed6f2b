// End to end: a sensor with delivery toward a loopback smarthost sink. A relay test is delivered exactly once,
// byte-identical but for the Received header; spam is not; caps hold across a restart; kill switch and dry run work;
// disabled means the sink never sees a connection. Only loopback traffic.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { analyze } from "../analysis/index.js";
import { parseMessage } from "../analysis/parse.js";
import type { RawConfig } from "../config/load.js";
import { runCli, startSensor, tempDir, type TestSensor } from "../../test/helpers/sensor.js";
import { SmtpClient } from "../../test/helpers/smtp-client.js";
import { startSmtpSink, type SmtpSink } from "../../test/helpers/smtp-sink.js";

const DROPBOX = "x@yahoo.com";

function relayTest(n: number): string {
  return [
    "From: paulette <paulette@example.net>",
    `To: ${DROPBOX}`,
    "Subject: 127.0.0.1@pauletteOpen Relay",
    "Date: Mon, 2 Jan 2012 10:00:00 +0000",
    `Message-ID: <test${n}.${Date.now()}@example.net>`,
    "",
    "127.0.0.1@pauletteOpen Relay",
    ".a line that starts with a dot (dot-stuffed on the wire)",
    `test number ${n}, caf\xe9`,
    "",
  ].join("\r\n");
}

const SPAM = [
  "From: Deals <deals@shop.example>",
  "To: victim@example.com",
  "Subject: Cheap watches, best prices",
  "Date: Mon, 2 Jan 2012 10:00:00 +0000",
  "",
  "Buy now at our shop! Limited offer for you.",
  "",
].join("\r\n");

async function sendMessage(port: number, rcpts: string[], body: string, from = "paulette@example.net"): Promise<void> {
  const c = await SmtpClient.connect(port);
  await c.reply();
  await c.startData({ greet: "EHLO client.example", from, to: rcpts });
  const r = await c.sendData(body);
  assert.match(r[r.length - 1] ?? "", /^250 /);
  await c.quit();
}

function deliveryConfig(sink: SmtpSink, over: Record<string, unknown> = {}): RawConfig {
  return { sensorIps: ["127.0.0.1"], delivery: { enabled: true, smarthost: sink.address, pollMs: 50, retryBaseMs: 200, timeoutMs: 5000, ...over } };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("delivery end to end", () => {
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
  });
  after(async () => {
    await sink.close();
  });
  const reset = () => {
    sink.messages.length = 0;
    sink.connections = 0;
    sink.rcptReply = null;
  };

  it("the test message is a relay test for the sensor's IP", async () => {
    const parsed = await parseMessage(Buffer.from(relayTest(0), "latin1"));
    const v = analyze(parsed, { clientIp: "127.0.0.1", helo: "client.example", mailFrom: "paulette@example.net", rcptTo: [DROPBOX] }, ["127.0.0.1"]);
    assert.equal(v.kind, "relay-test");
    assert.equal(v.matchesSensor, true);
    assert.deepEqual(v.dropboxes, [DROPBOX]);
  });

  it("delivers a relay test exactly once to its dropbox, byte-identical apart from one Received header; spam is not delivered", async () => {
    reset();
    const t: TestSensor = await startSensor(deliveryConfig(sink));
    try {
      const sentText = relayTest(1);
      await sendMessage(t.port, [DROPBOX], sentText);
      const stored = await t.waitEvent("smtp.message.stored");
      assert.equal(stored.kind, "relay-test");
      assert.equal(stored.matches_sensor, true);
      const sent = await t.waitEvent("delivery.sent");
      assert.equal(sent.recipient, DROPBOX);
      assert.equal(sent.mode, "relay-test");
      assert.ok(t.events.some((e) => e.eventid === "delivery.queued" && e.message === stored.message));

      const [m] = await sink.waitMessages(1);
      assert.equal(m!.mailFrom, "paulette@example.net");
      assert.deepEqual(m!.rcptTo, [DROPBOX]);
      const raw = t.sensor.reader.getRaw(stored.message as number)!;
      assert.deepEqual(raw, Buffer.from(sentText, "latin1"), "stored exactly as sent");
      const text = m!.data.toString("latin1");
      const headerEnd = text.indexOf("\r\n", text.indexOf("\r\n\tfor <") + 2) + 2;
      const received = text.slice(0, headerEnd);
      assert.match(
        received,
        new RegExp(
          `^Received: from client\\.example \\(unknown \\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mail\\.example\\.org \\(Postfix\\) with ESMTP id ${stored.queue_id}\\r\\n\\tfor <x@yahoo\\.com>; \\w{3}, [ \\d]\\d \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000 \\(UTC\\)\\r\\n$`,
        ),
      );
      assert.deepEqual(m!.data.subarray(Buffer.byteLength(received, "latin1")), raw, "the rest is the stored raw, byte for byte");

      // The dropbox is learned.
      const box = t.sensor.reader.get<{ tests: number; source: string }>("SELECT tests, source FROM dropboxes WHERE address = ?", DROPBOX);
      assert.deepEqual({ ...box }, { tests: 1, source: "relay-test" });

      // Spam is not delivered.
      await sendMessage(t.port, ["victim@example.com"], SPAM, "deals@shop.example");
      await t.waitEvent("smtp.message.stored", (e) => e.kind === "spam");
      await t.sensor.delivery.idle();
      assert.equal(sink.messages.length, 1, "exactly once, spam not delivered");
      assert.equal(sink.connections, 1);
      const out = t.sensor.reader.all<{ status: string }>("SELECT status FROM outbox");
      assert.deepEqual(out.map((r) => r.status), ["sent"]);
      const rc = t.sensor.reader.get<{ messages: number }>("SELECT messages FROM recipients WHERE recipient = ?", "victim@example.com");
      assert.equal(rc?.messages, 1);
    } finally {
      await t.close();
    }
  });

  it("a phishing page with \"relay test <sensor ip>\" in its subject is not delivered; a certain relay test is (issue 15)", async () => {
    reset();
    const t: TestSensor = await startSensor(deliveryConfig(sink));
    try {
      const filler = `<p>Your mailbox quota is full. <a href="http://login.example.com/verify">Verify your account</a> to keep receiving mail.</p>\r\n`;
      const page = [
        "From: Mail Admin <admin@login.example.com>",
        "To: victim@example.com",
        "Subject: relay test 127.0.0.1",
        "Date: Mon, 2 Jan 2012 10:00:00 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=utf-8",
        "",
        `<html><body>${filler.repeat(Math.ceil((2 * 1024 * 1024) / filler.length))}</body></html>`,
        "",
      ].join("\r\n");
      await sendMessage(t.port, ["victim@example.com"], page, "admin@login.example.com");
      const phish = await t.waitEvent("smtp.message.stored");
      assert.notEqual(phish.kind, "relay-test");
      assert.notEqual(phish.confidence, "certain");
      await sendMessage(t.port, [DROPBOX], relayTest(9));
      const test = await t.waitEvent("smtp.message.stored", (e) => e.message !== phish.message);
      assert.equal(test.kind, "relay-test");
      assert.equal(test.confidence, "certain");
      const sent = await t.waitEvent("delivery.sent");
      assert.equal(sent.message, test.message);
      await t.sensor.delivery.idle();
      assert.equal(sink.messages.length, 1, "only the certain test");
      assert.deepEqual(sink.messages[0]!.rcptTo, [DROPBOX]);
      assert.equal(t.sensor.reader.get<{ confidence: string }>("SELECT confidence FROM messages WHERE id = ?", test.message)?.confidence, "certain");
    } finally {
      await t.close();
    }
  });

  it("caps hold across a restart", async () => {
    reset();
    const dataDir = tempDir();
    try {
      const cfg = { dataDir, ...deliveryConfig(sink, { maxPerDropboxPerDay: 1 }) };
      const a = await startSensor(cfg);
      try {
        await sendMessage(a.port, [DROPBOX], relayTest(2));
        await a.waitEvent("delivery.sent");
      } finally {
        await a.close();
      }
      const b = await startSensor(cfg);
      try {
        await sendMessage(b.port, [DROPBOX], relayTest(3));
        const skipped = await b.waitEvent("delivery.skipped");
        assert.equal(skipped.reason, "cap-dropbox");
        assert.equal(skipped.recipient, DROPBOX);
        await b.sensor.delivery.idle();
        assert.equal(sink.messages.length, 1);
        assert.ok(!b.events.some((e) => e.eventid === "delivery.sent"), "the restart did not resend the first test");
        const audit = b.sensor.reader.all<{ decision: string; reason: string }>("SELECT decision, reason FROM delivery_audit ORDER BY id");
        assert.deepEqual(
          audit.map((r) => `${r.decision}:${r.reason}`),
          ["queued:relay-test", "sent:smarthost:127.0.0.1[" + sink.address + "]", "skipped:cap-dropbox"],
        );
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("a big or HTML relay test is not delivered; respelled dropboxes share one cap (issue 14)", async () => {
    reset();
    const t = await startSensor(deliveryConfig(sink, { maxPerDropboxPerDay: 2, maxPerSourcePerDay: 10 }));
    try {
      // Relay tests the analysis is certain of (the seed's subject and body), in a shape the content gate refuses:
      // one over delivery.maxMessageBytes by its attachment, one with an HTML alternative.
      const multipart = (n: number, type: string, extra: string[]) =>
        [
          "From: paulette <paulette@example.net>",
          "To: victim@example.com",
          "Subject: 127.0.0.1@pauletteOpen Relay",
          `Message-ID: <gate${n}.${Date.now()}@example.net>`,
          "MIME-Version: 1.0",
          `Content-Type: ${type}; boundary="b${n}"`,
          "",
          `--b${n}`,
          "Content-Type: text/plain; charset=us-ascii",
          "",
          "127.0.0.1@pauletteOpen Relay",
          `--b${n}`,
          ...extra,
          `--b${n}--`,
          "",
        ].join("\r\n");
      const attachment = Buffer.alloc(48 * 1024, 7).toString("base64").replace(/.{76}/g, "$&\r\n");
      const big = multipart(1, "multipart/mixed", ["Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64", 'Content-Disposition: attachment; filename="x.bin"', "", attachment]);
      const html = multipart(2, "multipart/alternative", ["Content-Type: text/html; charset=us-ascii", "", "<p>127.0.0.1@pauletteOpen Relay</p>"]);
      await sendMessage(t.port, ["a@drop.example"], big);
      await sendMessage(t.port, ["b@drop.example"], html);
      await t.sensor.delivery.idle();
      const outcomes = t.events.filter((e) => e.eventid === "delivery.skipped" || e.eventid === "delivery.sent").map((e) => `${e.eventid}:${String(e.reason ?? e.recipient)}`);
      assert.deepEqual(outcomes, ["delivery.skipped:too-big", "delivery.skipped:html"]);
      assert.equal(sink.connections, 0, "nothing delivered");

      for (const [i, rcpt] of ["same@drop.example", "SAME@drop.example", '"same"@drop.example'].entries()) {
        await sendMessage(t.port, [rcpt], relayTest(20 + i).replace(`To: ${DROPBOX}`, `To: ${rcpt}`));
      }
      await t.sensor.delivery.idle();
      await sink.waitMessages(2);
      await t.sensor.delivery.idle();
      assert.deepEqual(sink.messages.map((m) => m.rcptTo), [["same@drop.example"], ["same@drop.example"]], "two deliveries under a cap of 2");
      assert.ok(t.events.some((e) => e.eventid === "delivery.skipped" && e.reason === "cap-dropbox"));
    } finally {
      await t.close();
    }
  });

  it("the kill switch stops queued deliveries at once and new ones are skipped", async () => {
    reset();
    const dataDir = tempDir();
    try {
      sink.rcptReply = "450 4.2.0 try again later";
      const t = await startSensor({ dataDir, ...deliveryConfig(sink, { retryBaseMs: 1000 }) });
      try {
        await sendMessage(t.port, [DROPBOX], relayTest(4));
        const failed = await t.waitEvent("delivery.failed");
        assert.equal(failed.will_retry, true);
        const off = await runCli(["delivery", "off", "--data-dir", dataDir]);
        assert.equal(off.code, 0, off.stderr);
        sink.rcptReply = null;
        const connections = sink.connections;
        await sleep(2200); // past the next retry time
        assert.equal(sink.connections, connections, "no connection while switched off");
        assert.equal(sink.messages.length, 0);

        const status = await runCli(["delivery", "status", "--data-dir", dataDir]);
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /"switch": "off"/);

        await sendMessage(t.port, [DROPBOX], relayTest(5));
        const skipped = await t.waitEvent("delivery.skipped");
        assert.equal(skipped.reason, "kill-switch");

        const on = await runCli(["delivery", "on", "--data-dir", dataDir]);
        assert.equal(on.code, 0, on.stderr);
        await sink.waitMessages(1);
        await t.waitEvent("delivery.sent");
        await t.sensor.delivery.idle();
        assert.equal(sink.messages.length, 1, "the skipped test stays skipped");
      } finally {
        await t.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("dry run decides and records, sends nothing", async () => {
    reset();
    const t = await startSensor(deliveryConfig(sink, { dryRun: true }));
    try {
      await sendMessage(t.port, [DROPBOX], relayTest(6));
      const skipped = await t.waitEvent("delivery.skipped");
      assert.equal(skipped.reason, "dry-run");
      assert.equal(skipped.recipient, DROPBOX);
      await t.sensor.delivery.idle();
      assert.equal(sink.connections, 0);
      const rows = t.sensor.reader.all<{ status: string }>("SELECT status FROM outbox");
      assert.deepEqual(rows.map((r) => r.status), ["dry-run"]);
    } finally {
      await t.close();
    }
  });

  it("with delivery disabled (the default) nothing is sent, the dropbox is still learned", async () => {
    reset();
    const t = await startSensor({ sensorIps: ["127.0.0.1"], delivery: { smarthost: sink.address, pollMs: 50 } });
    try {
      await sendMessage(t.port, [DROPBOX], relayTest(7));
      const skipped = await t.waitEvent("delivery.skipped");
      assert.equal(skipped.reason, "disabled");
      await t.sensor.delivery.idle();
      assert.equal(sink.connections, 0);
      assert.equal(t.sensor.reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM outbox")!.n, 0);
      assert.equal(t.sensor.reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM dropboxes")!.n, 1);
    } finally {
      await t.close();
    }
  });
});
