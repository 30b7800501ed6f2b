// Every event a real session emits is in the catalog, with the common fields set.
import assert from "node:assert/strict";
import { it } from "node:test";
import { startSensor } from "../../test/helpers/sensor.js";
import { SmtpClient } from "../../test/helpers/smtp-client.js";
import { COMMON_FIELDS, EVENT_CATALOG, isCatalogued } from "./catalog.js";

it("emits only catalogued events, each with the common fields and only its own fields", async () => {
  const t = await startSensor({ auth: { enabled: true } });
  try {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.expect("EHLO cat", "250");
    await c.expect("AUTH PLAIN " + Buffer.from("\0u\0p").toString("base64"), "535");
    await c.starttls();
    await c.startData({ greet: null, from: "a@b.example", to: "c@d.example" });
    await c.sendData("Subject: cat\r\n\r\nx");
    await c.startData({ greet: null, from: "a@b.example", to: "c@d.example" });
    c.write("half a message");
    c.destroy();
    await t.waitEvent("smtp.session.closed");
  } finally {
    await t.close();
  }
  const seen = new Set(t.events.map((e) => e.eventid));
  for (const id of ["smtp.session.connect", "smtp.command", "smtp.auth.attempt", "smtp.tls.established", "smtp.message.stored", "smtp.message.dropped", "smtp.session.closed"]) {
    assert.ok(seen.has(id as never), `${id} not emitted`);
  }
  for (const e of t.events) {
    assert.ok(isCatalogued(e.eventid), `${e.eventid} is not in the catalog`);
    const allowed = new Set<string>([...COMMON_FIELDS, ...EVENT_CATALOG[e.eventid].fields]);
    for (const k of Object.keys(e)) assert.ok(allowed.has(k), `${e.eventid} carries uncatalogued field ${k}`);
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
});
