// Campaigns, top-N tables and offline geo in the web API, against a real sensor fed over SMTP. Loopback stands in
// for public sources: the operator's country/ASN files (written by the test) map 127.0.0.0/8.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { writeMmdb } from "../../../test/helpers/mmdb-writer.js";
import { startSensor, tempDir, type TestSensor } from "../../../test/helpers/sensor.js";
import { SmtpClient } from "../../../test/helpers/smtp-client.js";
import { eml, http, sendMail, waitSessions, webPort } from "../../../test/helpers/web.js";

let t: TestSensor;
let port: number;
const GEO = { country: "ZZ", asn: 64512, asnName: "Loopback AS" };

before(async () => {
  const dir = tempDir();
  writeFileSync(join(dir, "c.mmdb"), writeMmdb("GeoLite2-Country", [["127.0.0.0/8", { country: { iso_code: "ZZ" } }]]));
  writeFileSync(join(dir, "a.mmdb"), writeMmdb("GeoLite2-ASN", [["127.0.0.0/8", { autonomous_system_number: 64512, autonomous_system_organization: "Loopback AS" }]]));
  t = await startSensor({ enrich: { countryDb: join(dir, "c.mmdb"), asnDb: join(dir, "a.mmdb") }, auth: { enabled: true } });
  port = webPort(t);
  // two runs of three: one personalised subject template, one body word for word
  for (const n of ["anna", "bert", "carla"]) {
    await sendMail(t, "x@spam.example", [`${n}@victim${n}.example`], eml([`Subject: Dear ${n}, invoice ${n.length * 1234} is overdue`], `pay ${n} now ${n.length}`), "bulk1.example");
  }
  for (const s of ["pills", "cheap", "news"]) {
    await sendMail(t, "y@spam.example", [`${s}@other.example`], eml([`Subject: ${s}`], "Buy genuine medications online without prescription today"), "bulk2.example");
  }
  const c = await SmtpClient.connect(t.port);
  await c.reply();
  await c.expect("EHLO guesser.example", "250");
  await c.expect("AUTH PLAIN " + Buffer.from("\0admin\0hunter2").toString("base64"), "535");
  await c.quit();
  await waitSessions(t, 7);
});
after(async () => t.close());

describe("web API: campaigns, top-N, geo", () => {
  test("spam grouped into campaigns, each with a page", async () => {
    const list = (await http(port, "/api/v1/campaigns")).json();
    assert.equal(list.items.length, 2, JSON.stringify(list));
    assert.deepEqual(list.items.map((x: { messages: number }) => x.messages), [3, 3]);
    const tpl = list.items.find((x: { template: string }) => x.template === "dear {name}, invoice # is overdue");
    assert.ok(tpl, JSON.stringify(list.items.map((x: { template: string }) => x.template)));
    const page = (await http(port, `/api/v1/campaigns/${tpl.id}`)).json();
    assert.equal(page.items.length, 3);
    assert.deepEqual(page.items[0].geo, GEO);
    assert.deepEqual(page.srcIps, [{ srcIp: "127.0.0.1", messages: 3, geo: GEO }]);
    assert.equal((await http(port, "/api/v1/campaigns/999999")).status, 404);
    assert.equal((await http(port, "/api/v1/campaigns?x=1")).status, 400);
  });

  test("top countries, ASes, HELO names and credentials tried", async () => {
    const top = (await http(port, "/api/v1/stats/top")).json();
    assert.deepEqual(top.countries.map((x: { key: string; sources: number }) => [x.key, x.sources]), [["ZZ", 1]]);
    assert.deepEqual(top.asns.map((x: { key: string; name: string }) => [x.key, x.name]), [["64512", "Loopback AS"]]);
    assert.deepEqual(top.helos.map((x: { name: string; count: number }) => [x.name, x.count]), [["bulk1.example", 3], ["bulk2.example", 3], ["guesser.example", 1]]);
    assert.deepEqual(top.credentials.map((x: { username: string; password: string; count: number }) => [x.username, x.password, x.count]), [["admin", "hunter2", 1]]);
    assert.deepEqual(top.testers, []);
    const summary = (await http(port, "/api/v1/summary")).json();
    assert.deepEqual(summary.topSources[0].geo, GEO);
  });

  test("lists and the source page carry each address's geo", async () => {
    const list = (await http(port, "/api/v1/messages?limit=2")).json();
    for (const m of list.items) assert.deepEqual(m.geo, GEO);
    const src = (await http(port, "/api/v1/sources/127.0.0.1")).json();
    assert.deepEqual(src.geo, GEO);
    assert.deepEqual(src.messages[0].geo, GEO);
  });

  test("the campaign pages are UI pages", async () => {
    for (const p of ["/campaigns", "/campaigns/12"]) {
      const r = await http(port, p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers["content-type"] as string, /^text\/html/);
    }
  });
});
