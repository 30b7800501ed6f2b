// Sensor policy wiring: per-source cutoff keeps counting but stops keeping bodies (with an event), quota pruning.
import assert from "node:assert/strict";
import { it } from "node:test";
import { startSensor } from "../test/helpers/sensor.js";
import { SmtpClient } from "../test/helpers/smtp-client.js";

async function sendMessages(port: number, n: number, size = 100): Promise<void> {
  const c = await SmtpClient.connect(port);
  await c.reply();
  await c.expect("EHLO p", "250");
  for (let i = 0; i < n; i++) {
    await c.startData({ greet: null, from: "s@spam.example", to: "v@yahoo.com" });
    const r = await c.sendData(`Subject: n${i}\r\n\r\n${"x".repeat(size)}\r\n`);
    assert.match(r[0]!, /^250 /);
  }
  await c.quit();
}

it("acknowledges every message past the per-source cutoff but keeps only sampled bodies", async () => {
  const t = await startSensor({ storage: { cutoffMaxMessages: 2, cutoffSampleEvery: 3 } });
  try {
    await sendMessages(t.port, 8);
    await t.waitEvent("smtp.session.closed");
    const rows = t.sensor.reader.listMessages({ limit: 100 }).reverse();
    assert.equal(rows.length, 8);
    assert.deepEqual(rows.map((r) => r.bodyStored), [true, true, false, false, true, false, false, true]);
    assert.ok(rows.filter((r) => !r.bodyStored).every((r) => r.dropReason === "source-cutoff" && t.sensor.reader.getRaw(r.id) === null));
    const dropped = t.events.filter((e) => e.eventid === "smtp.message.dropped");
    assert.equal(dropped.length, 4);
    assert.ok(dropped.every((e) => e.reason === "source-cutoff"));
  } finally {
    await t.close();
  }
});

it("keeps stored bodies within the quota by pruning the oldest", async () => {
  const t = await startSensor({ storage: { quotaBytes: 3000 } });
  try {
    await sendMessages(t.port, 10, 1000);
    await t.sensor.prune();
    assert.ok(t.sensor.writer.rawBytes() <= 3000, `raw bytes ${t.sensor.writer.rawBytes()}`);
    const rows = t.sensor.reader.listMessages({ limit: 100 });
    assert.equal(rows.length, 10);
    assert.equal(rows[0]!.bodyStored, true, "the newest body is kept");
    assert.equal(rows.at(-1)!.dropReason, "quota");
  } finally {
    await t.close();
  }
});

it("passes its host name to the analysis: a relay test to postmaster@<hostname> is mail to the sensor, not a relay test", async () => {
  const t = await startSensor({ hostname: "mail.example.org" });
  try {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.expect("EHLO tester.example", "250");
    for (const to of ["postmaster@mail.example.org", "checker@dropbox.example"]) {
      await c.startData({ greet: null, from: "t@tester.example", to });
      const r = await c.sendData(`From: t@tester.example\r\nTo: ${to}\r\nSubject: Relay test 127.0.0.1\r\n\r\n127.0.0.1\r\n`);
      assert.match(r[0]!, /^250 /);
    }
    await c.quit();
    await t.waitEvent("smtp.session.closed");
    const kinds = t.events.filter((e) => e.eventid === "smtp.message.stored").map((e) => e.kind);
    assert.deepEqual(kinds, ["spam", "relay-test"]);
  } finally {
    await t.close();
  }
});
