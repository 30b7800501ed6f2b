// Fixture-driven tests of analyze(): historical relay tests, known testers, envelope tricks, hard negatives.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze, analyzeRaw } from "./index.js";
import { parseMessage } from "./parse.js";
import { HARD_NEGATIVES, RELAY_TESTS, SENSOR_V4, YAHOO_2013, env, eml, type Fixture } from "./fixtures.js";

async function run(f: Fixture) {
  const parsed = await parseMessage(f.raw);
  const opts = f.knownDropboxes ? { knownDropboxes: new Set(f.knownDropboxes) } : {};
  return analyze(parsed, f.env, f.sensorIps, opts);
}

for (const f of RELAY_TESTS) {
  test(`relay test: ${f.name}`, async () => {
    const v = await run(f);
    const why = JSON.stringify(v, null, 1);
    assert.equal(v.kind, f.expect.kind, why);
    if (f.expect.testedIps) assert.deepEqual(v.testedIps, f.expect.testedIps, why);
    for (const ip of f.expect.testedIncludes ?? []) assert.ok(v.testedIps.includes(ip), why);
    if (f.expect.matchesSensor !== undefined) assert.equal(v.matchesSensor, f.expect.matchesSensor, why);
    if (f.expect.dropboxes) assert.deepEqual(v.dropboxes, f.expect.dropboxes, why);
    if (f.expect.tester) assert.equal(v.tester, f.expect.tester, why);
    assert.ok(v.score >= 50 && v.score <= 100, why);
    assert.ok(v.evidence.length > 0, why);
    for (const e of v.evidence) assert.ok(!/^received/i.test(e.field), why);
  });
}

for (const f of HARD_NEGATIVES) {
  test(`hard negative: ${f.name}`, async () => {
    const v = await run(f);
    const why = JSON.stringify(v, null, 1);
    assert.notEqual(v.kind, "relay-test", why);
    assert.equal(v.kind, f.expect.kind, why);
    assert.deepEqual(v.testedIps, [], why);
    assert.equal(v.matchesSensor, false, why);
  });
}

test("2013 test without a configured sensor still decodes the IP", async () => {
  const f = RELAY_TESTS[0];
  assert.ok(f);
  const v = await run({ ...f, sensorIps: [] });
  assert.equal(v.kind, "relay-test");
  assert.deepEqual(v.testedIps, [SENSOR_V4]);
  assert.equal(v.matchesSensor, false);
  assert.equal(v.dropboxes.length, 21);
  assert.deepEqual(v.dropboxes, YAHOO_2013);
});

test("2003 test: both the body and the Message-ID decode", async () => {
  const f = RELAY_TESTS[1];
  assert.ok(f);
  const v = await run(f);
  const fields = v.evidence.filter((e) => e.decoder === "decimal-ascii").map((e) => e.field);
  assert.ok(fields.includes("body"), JSON.stringify(v.evidence));
  assert.ok(fields.includes("message-id"), JSON.stringify(v.evidence));
  assert.ok(v.evidence.some((e) => e.found.includes("tulsok.swbell.net")));
});

test("the honeypot's own Received header is never evidence", async () => {
  const raw = eml([`Received: from [${SENSOR_V4}] by mx.trap.example ([${SENSOR_V4}]) id 1; Sun, 1 Dec 2013 12:00:00 +0000`, "From: a@b.example", "To: c@d.example", "Subject: hello friend"], "How are you doing these days?\n");
  const { verdict } = await analyzeRaw(raw, env("<a@b.example>", ["<c@d.example>"]), [SENSOR_V4]);
  assert.equal(verdict.kind, "spam");
  assert.equal(verdict.evidence.length, 0, JSON.stringify(verdict.evidence));
});

test("analyzeRaw returns the parsed message with the verdict", async () => {
  const f = RELAY_TESTS[0];
  assert.ok(f);
  const { parsed, verdict } = await analyzeRaw(f.raw, f.env, f.sensorIps);
  assert.equal(parsed.dateHeader, "Sun, 1 Dez 2013 12:17:21 +0000");
  assert.equal(verdict.kind, "relay-test");
});

test("garbage input does not throw", async () => {
  const parsed = await parseMessage(Buffer.from([0, 255, 13, 10, 13, 10, 1, 2, 3]));
  const v = analyze(parsed, { clientIp: "", helo: null, mailFrom: null, rcptTo: [] }, ["not an ip", ""]);
  assert.equal(v.kind, "other");
});

test("the sensor IP list may change between calls, or be edited in place", async () => {
  const f = RELAY_TESTS[0];
  assert.ok(f);
  const parsed = await parseMessage(f.raw);
  const sensors = [SENSOR_V4];
  assert.equal(analyze(parsed, f.env, sensors).matchesSensor, true);
  sensors[0] = "203.0.113.250";
  assert.equal(analyze(parsed, f.env, sensors).matchesSensor, false);
  assert.equal(analyze(parsed, f.env, ["203.0.113.250", SENSOR_V4]).matchesSensor, true);
  assert.equal(analyze(parsed, f.env, []).matchesSensor, false);
});
