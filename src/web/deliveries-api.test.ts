// Deliveries in the API: the outbox list and a message's own delivery rows.
import assert from "node:assert/strict";
import { it } from "node:test";
import { startSensor } from "../../test/helpers/sensor.js";
import { startSmtpSink } from "../../test/helpers/smtp-sink.js";
import { sendMail, webPort } from "../../test/helpers/web.js";

it("lists deliveries newest first and shows them with their message", async () => {
  const sink = await startSmtpSink();
  const t = await startSensor({ sensorIps: ["127.0.0.1"], delivery: { enabled: true, smarthost: sink.address, pollMs: 50 } });
  try {
    const raw = ["From: p@example.net", "To: box@dropbox.example", "Subject: 127.0.0.1@pauletteOpen Relay", "", "127.0.0.1", ""].join("\r\n");
    await sendMail(t, "p@example.net", ["box@dropbox.example"], raw);
    await t.waitEvent("delivery.sent");
    const base = `http://127.0.0.1:${webPort(t)}`;
    const list = (await (await fetch(`${base}/api/v1/deliveries`)).json()) as { items: Array<{ recipient: string; status: string; messageId: number; subject: string }>; next: string | null };
    assert.equal(list.items.length, 1);
    assert.deepEqual([list.items[0]!.recipient, list.items[0]!.status, list.items[0]!.subject], ["box@dropbox.example", "sent", "127.0.0.1@pauletteOpen Relay"]);
    assert.equal(list.next, null);
    const m = (await (await fetch(`${base}/api/v1/messages/${list.items[0]!.messageId}`)).json()) as { delivery: Array<{ status: string }> };
    assert.deepEqual(m.delivery.map((d) => d.status), ["sent"]);
    assert.equal((await fetch(`${base}/api/v1/deliveries?limit=0`)).status, 400);
  } finally {
    await t.close();
    await sink.close();
  }
});
