// Offline enrichment: an operator's GeoLite2-shaped MMDB files (written by the test) and the shipped databases; bad
// paths are refused with the key; nothing opens a socket while the databases load and answer.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect } from "node:net";
import { writeMmdb } from "../../test/helpers/mmdb-writer.js";
import { startSensor } from "../../test/helpers/sensor.js";
import { ConfigError } from "../config/load.js";
import { createEnricher, geoField } from "./index.js";

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "relaytrap-enrich-"));
  writeFileSync(
    join(dir, "country.mmdb"),
    writeMmdb("GeoLite2-Country", [
      ["198.51.100.0/24", { country: { iso_code: "NL", names: { en: "Netherlands" } } }],
      ["2001:db8::/32", { country: { iso_code: "DE" } }],
    ]),
  );
  writeFileSync(
    join(dir, "asn.mmdb"),
    writeMmdb("GeoLite2-ASN", [
      ["198.51.100.0/25", { autonomous_system_number: 64500, autonomous_system_organization: "Example Net B.V." }],
      ["2001:db8:1::/48", { autonomous_system_number: 4_200_000_001, autonomous_system_organization: "Doc Six" }],
    ]),
  );
  writeFileSync(join(dir, "junk.mmdb"), "not a database at all");
  // loopback stands in for a public source in the sensor test (only loopback is a traffic target in tests)
  writeFileSync(join(dir, "lo-country.mmdb"), writeMmdb("GeoLite2-City", [["127.0.0.0/8", { country: { iso_code: "ZZ" } }]]));
  writeFileSync(join(dir, "lo-asn.mmdb"), writeMmdb("GeoLite2-ASN", [["127.0.0.0/8", { autonomous_system_number: 64512, autonomous_system_organization: "Loopback AS" }]]));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Counts sockets opened while fn runs (net.client.socket fires for every net.connect). */
async function socketsOpenedBy(fn: () => Promise<void>): Promise<number> {
  let n = 0;
  const onSocket = () => void n++;
  subscribe("net.client.socket", onSocket);
  try {
    await fn();
  } finally {
    unsubscribe("net.client.socket", onSocket);
  }
  return n;
}

describe("enrichment", () => {
  it("reads an operator's GeoLite2 country and ASN files", async () => {
    const e = createEnricher({ countryDb: join(dir, "country.mmdb"), asnDb: join(dir, "asn.mmdb") });
    await e.ready();
    assert.deepEqual(e.lookup("198.51.100.7"), { country: "NL", asn: 64500, asnName: "Example Net B.V." });
    assert.deepEqual(e.lookup("198.51.100.200"), { country: "NL", asn: null, asnName: null });
    assert.deepEqual(e.lookup("::ffff:198.51.100.7"), { country: "NL", asn: 64500, asnName: "Example Net B.V." });
    assert.deepEqual(e.lookup("2001:db8:1::25"), { country: "DE", asn: 4_200_000_001, asnName: "Doc Six" });
    assert.equal(e.lookup("203.0.113.9"), null);
    assert.equal(e.lookup("not-an-ip"), null);
    assert.deepEqual(geoField(e.lookup("198.51.100.7")), { country: "NL", asn: 64500, as_name: "Example Net B.V." });
  });

  it("refuses bad database paths at start, naming the key and the reason", () => {
    assert.throws(() => createEnricher({ countryDb: join(dir, "missing.mmdb") }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.key, "enrich.countryDb");
      assert.match(err.reason, /cannot read .*ENOENT/);
      return true;
    });
    assert.throws(() => createEnricher({ asnDb: join(dir, "junk.mmdb") }), (err: unknown) => err instanceof ConfigError && err.key === "enrich.asnDb" && /not a MaxMind DB/.test(err.reason));
    assert.throws(() => createEnricher({ asnDb: join(dir, "country.mmdb") }), (err: unknown) => err instanceof ConfigError && err.key === "enrich.asnDb" && /not an ASN/.test(err.reason));
    assert.throws(() => createEnricher({ countryDb: join(dir, "asn.mmdb") }), (err: unknown) => err instanceof ConfigError && err.key === "enrich.countryDb");
  });

  it("answers from the shipped databases without the network, null until they are loaded", async () => {
    const e = createEnricher();
    let loadMs = 0;
    const sockets = await socketsOpenedBy(async () => {
      assert.equal(e.lookup("1.1.1.1"), null, "not loaded yet: no answer, no wait");
      const t0 = performance.now();
      await e.ready();
      loadMs = performance.now() - t0;
      // public resolvers whose country and AS are stable facts
      const cf = e.lookup("1.1.1.1");
      assert.equal(cf?.asn, 13335);
      assert.match(cf?.asnName ?? "", /cloudflare/i);
      assert.ok(cf?.country !== null && /^[A-Z]{2}$/.test(cf?.country ?? ""), "a country for 1.1.1.1");
      const g = e.lookup("8.8.8.8");
      assert.equal(g?.country, "US");
      assert.equal(g?.asn, 15169);
      const g6 = e.lookup("2001:4860:4860::8888");
      assert.equal(g6?.country, "US");
      assert.equal(g6?.asn, 15169);
      // documentation and private addresses are in no database
      assert.equal(e.lookup("192.0.2.1"), null);
      assert.equal(e.lookup("10.0.0.1"), null);
    });
    assert.equal(sockets, 0, "enrichment opened a socket");
    assert.ok(loadMs < 30_000, `loading took ${loadMs} ms`);
  });

  it("keeps a bounded cache", async () => {
    const e = createEnricher({ countryDb: join(dir, "country.mmdb"), asnDb: join(dir, "asn.mmdb"), cacheSize: 2 });
    await e.ready();
    for (let i = 0; i < 50; i++) e.lookup(`198.51.100.${i}`);
    assert.deepEqual(e.lookup("198.51.100.1"), { country: "NL", asn: 64500, asnName: "Example Net B.V." });
  });
});

it("puts geo into the SMTP and proxy connect events", async () => {
  const t = await startSensor({ enrich: { countryDb: join(dir, "lo-country.mmdb"), asnDb: join(dir, "lo-asn.mmdb") }, proxyListen: ["127.0.0.1:0"] });
  try {
    const want = { country: "ZZ", asn: 64512, as_name: "Loopback AS" };
    for (const l of t.sensor.listeners.filter((x) => x.kind === "smtp" || x.kind === "proxy")) {
      const s = connect(l.port, "127.0.0.1");
      s.on("error", () => {});
      await t.waitEvent(l.kind === "smtp" ? "smtp.session.connect" : "proxy.session.connect");
      s.destroy();
    }
    assert.deepEqual((await t.waitEvent("smtp.session.connect")).geo, want);
    assert.deepEqual((await t.waitEvent("proxy.session.connect")).geo, want);
  } finally {
    await t.close();
  }
});

it("refuses to start a sensor with an unreadable enrich.asnDb", async () => {
  await assert.rejects(startSensor({ enrich: { asnDb: join(dir, "nope.mmdb") } }), (err: unknown) => err instanceof ConfigError && err.key === "enrich.asnDb");
});
