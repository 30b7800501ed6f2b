// Secret masking: secrets only, never booleans or numbers (issue 17.7).
import assert from "node:assert/strict";
import { it } from "node:test";
import { loadConfig } from "./load.js";
import { MASK, maskSecrets } from "./mask.js";

it("masks tokens, password hashes, database URLs and URL credentials; never booleans or numbers", () => {
  const hash = "scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==";
  const config = loadConfig({
    env: {},
    flags: {
      collectorUrl: "https://sensor1:hunter2@collector.example/push",
      collectorToken: "tok-123456789",
      web: { users: [`admin:${hash}`] },
      delivery: { allowPrivateMx: true, enabled: true, maxPerDay: 7 },
      collector: { databaseUrl: "postgres://rt:pw@db.example/rt", tokens: ["s1:abcdefghij"], readTokens: ["abcdefghijk"] },
      reports: { rdapBootstrapUrl: "https://data.iana.org/rdap/dns.json" },
    },
  });
  const m = maskSecrets(config) as any;
  assert.equal(m.collectorUrl, `https://${MASK}@collector.example/push`);
  assert.equal(m.collectorToken, MASK);
  assert.deepEqual(m.web.users, [{ name: "admin", passwordHash: MASK }]);
  assert.equal(m.collector.databaseUrl, MASK);
  assert.deepEqual(m.collector.tokens, [MASK]);
  assert.deepEqual(m.collector.readTokens, [MASK]);
  assert.equal(m.reports.rdapBootstrapUrl, "https://data.iana.org/rdap/dns.json");
  assert.equal(m.delivery.allowPrivateMx, true);
  assert.equal(m.delivery.enabled, true);
  assert.equal(m.delivery.maxPerDay, 7);
  assert.doesNotMatch(JSON.stringify(m), /hunter2|tok-123|scrypt\$|pw@|abcdefghij/);
  // Every boolean and number comes out as it went in.
  const leaves = (v: unknown, path = ""): Array<[string, unknown]> =>
    v !== null && typeof v === "object" ? Object.entries(v).flatMap(([k, x]) => leaves(x, `${path}.${k}`)) : [[path, v]];
  const masked = new Map(leaves(m));
  for (const [path, v] of leaves(config)) if (typeof v === "boolean" || typeof v === "number") assert.equal(masked.get(path), v, path);
});
