// The analysis pool: same results as in-thread analysis, hostile MIME given up by time or heap without stalling the
// caller's thread, and a fresh worker for the next message.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeRaw } from "./index.js";
import { sha256Hex } from "./parse.js";
import { createAnalysisPool, storedParse } from "./pool.js";
import { RELAY_TESTS, eml, env } from "./fixtures.js";
import { stallMeter } from "../../test/helpers/stall.js";

const ENV = env("<x@y.example>", ["<z@dropbox.example>"]);
const SENSORS = ["198.51.100.23"];
const TEXT = 64 * 1024;

/** HTML-only body: mailparser converts it to text, the slowest thing it does (~0.4 µs per byte here). */
function htmlOnly(bytes: number): Buffer {
  const line = "<div><p><b>a</b></p></div>\r\n";
  return eml(["From: x@y.example", "To: z@dropbox.example", "Subject: big", "Content-Type: text/html"], line.repeat(Math.ceil(bytes / line.length)));
}

test("a worker gives what in-thread analysis gives", async () => {
  const pool = createAnalysisPool({ workers: 1, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 30_000, maxHeapMb: 256 });
  try {
    for (const f of RELAY_TESTS.slice(0, 10)) {
      const a = await pool.analyze(f.raw, f.env, f.sensorIps);
      const b = await analyzeRaw(f.raw, f.env, f.sensorIps);
      assert.deepEqual(a.verdict, b.verdict, f.name);
      assert.deepEqual({ ...a.parsed, raw: null }, { ...storedParse(b.parsed, TEXT), raw: null }, f.name);
      assert.equal(a.parsed.raw, f.raw, "the caller's bytes come back, not a copy");
    }
  } finally {
    await pool.close();
  }
});

test("the text comes back cut to maxTextChars, without the HTML part but whether there was one, from a worker as in-thread", async () => {
  const raw = eml(["From: x@y.example", "To: z@dropbox.example", "Subject: long", "Content-Type: multipart/alternative; boundary=b"], `--b\nContent-Type: text/plain\n\n${"word ".repeat(1000)}\n--b\nContent-Type: text/html\n\n<p>word</p>\n--b--\n`);
  const plain = eml(["From: x@y.example", "To: z@dropbox.example", "Subject: plain"], "word");
  for (const inlineMaxBytes of [0, 1024 * 1024]) {
    const pool = createAnalysisPool({ workers: 1, inlineMaxBytes, maxTextChars: 100, timeoutMs: 30_000, maxHeapMb: 256 });
    try {
      const r = await pool.analyze(raw, ENV, SENSORS);
      assert.equal(r.parsed.text, "word ".repeat(20));
      assert.equal("html" in r.parsed, false);
      assert.equal(r.parsed.hasHtml, true);
      assert.equal(r.parsed.subject, "long");
      assert.equal((await pool.analyze(plain, ENV, SENSORS)).parsed.hasHtml, false);
    } finally {
      await pool.close();
    }
  }
});

test("known dropboxes reach the worker", async () => {
  const pool = createAnalysisPool({ workers: 1, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 30_000, maxHeapMb: 256 });
  try {
    const raw = eml(["From: x@y.example", "To: z@dropbox.example", "Subject: hello"], "nothing to see");
    assert.equal((await pool.analyze(raw, ENV, SENSORS)).verdict.kind, "spam");
    const v = (await pool.analyze(raw, ENV, SENSORS, { knownDropboxes: new Set(["z@dropbox.example"]) })).verdict;
    assert.equal(v.kind, "relay-test");
    assert.ok(v.evidence.some((e) => e.decoder === "known-dropbox"));
  } finally {
    await pool.close();
  }
});

test("the sensor's host names reach the analysis, in a worker as in-thread: role mail to them is no relay test", async () => {
  const to = "postmaster@mail.example.org";
  const raw = eml(["From: t@tester.example", `To: ${to}`, `Subject: Relay test ${SENSORS[0]}`], `${SENSORS[0]}`);
  const roleEnv = env("<t@tester.example>", [`<${to}>`]);
  for (const inlineMaxBytes of [0, 1024 * 1024]) {
    const pool = createAnalysisPool({ workers: 1, inlineMaxBytes, maxTextChars: TEXT, timeoutMs: 30_000, maxHeapMb: 256 });
    try {
      assert.equal((await pool.analyze(raw, roleEnv, SENSORS)).verdict.kind, "relay-test", "unknown names: a relay test");
      const v = (await pool.analyze(raw, roleEnv, SENSORS, { sensorNames: new Set(["mail.example.org"]) })).verdict;
      assert.notEqual(v.kind, "relay-test", `inlineMaxBytes ${inlineMaxBytes}`);
      assert.notEqual(v.confidence, "certain");
    } finally {
      await pool.close();
    }
  }
});

test("a message over the time limit is given up, the caller's thread never stalls, the next one is analyzed", async () => {
  const logs: string[] = [];
  const pool = createAnalysisPool({ workers: 1, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 1000, maxHeapMb: 512, log: (l) => logs.push(l) });
  try {
    const raw = htmlOnly(8_000_000); // seconds of html-to-text
    const meter = stallMeter();
    const r = await pool.analyze(raw, ENV, SENSORS);
    const held = await meter.stop();
    assert.match(r.parsed.parseError ?? "", /given up: took over 1000 ms/);
    assert.equal(r.parsed.hasHtml, false, "not known without the parse given up");
    assert.equal(r.parsed.sha256, sha256Hex(raw));
    assert.equal(r.parsed.size, raw.length);
    assert.equal(r.verdict.kind, "spam");
    assert.equal(r.verdict.evidence[0]?.decoder, "error");
    assert.equal(pool.givenUp, 1);
    assert.ok(logs.some((l) => /took over 1000 ms/.test(l)));
    // In-thread, this parse blocks the event loop for seconds; the worker leaves it free.
    assert.ok(held < 1000, `event loop held for ${held.toFixed(0)} ms`);
    const f = RELAY_TESTS[0];
    assert.ok(f);
    assert.equal((await pool.analyze(f.raw, f.env, f.sensorIps)).verdict.kind, "relay-test");
  } finally {
    await pool.close();
  }
});

test("a message that needs more heap than the cap is given up; the pool goes on", async () => {
  const pool = createAnalysisPool({ workers: 2, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 60_000, maxHeapMb: 32 });
  try {
    // ~5 M short lines: mailparser's text handling needs a few hundred MB of heap for it.
    const raw = eml(["From: x@y.example", "To: z@dropbox.example", "Subject: lines"], "a\r\n".repeat(3_000_000));
    const small = RELAY_TESTS[1];
    assert.ok(small);
    const [big, ok] = await Promise.all([pool.analyze(raw, ENV, SENSORS), pool.analyze(small.raw, small.env, small.sensorIps)]);
    assert.match(big.parsed.parseError ?? "", /given up: .*memory/i);
    assert.equal(big.parsed.sha256, sha256Hex(raw));
    assert.equal(ok.verdict.kind, "relay-test");
    assert.equal(pool.givenUp, 1);
    assert.equal((await pool.analyze(small.raw, small.env, small.sensorIps)).verdict.kind, "relay-test");
  } finally {
    await pool.close();
  }
});

test("closing answers queued messages unparsed and analyzes later ones in-thread", async () => {
  const pool = createAnalysisPool({ workers: 1, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 30_000, maxHeapMb: 256 });
  const slow = pool.analyze(htmlOnly(4_000_000), ENV, SENSORS);
  const queued = pool.analyze(RELAY_TESTS[0]?.raw ?? Buffer.alloc(0), ENV, SENSORS);
  await pool.close();
  assert.match((await slow).parsed.parseError ?? "", /sensor stopping/);
  assert.match((await queued).parsed.parseError ?? "", /sensor stopping/);
  const f = RELAY_TESTS[0];
  assert.ok(f);
  assert.equal((await pool.analyze(f.raw, f.env, f.sensorIps)).verdict.kind, "relay-test");
});

test("messages up to inlineMaxBytes are analyzed on the calling thread, larger ones in a worker", async () => {
  // A 1 ms limit gives up whatever reaches a worker (module load alone takes longer); inline work has no limit.
  const pool = createAnalysisPool({ workers: 1, inlineMaxBytes: 64 * 1024, maxTextChars: TEXT, timeoutMs: 1, maxHeapMb: 256 });
  try {
    const f = RELAY_TESTS[0];
    assert.ok(f);
    assert.equal((await pool.analyze(f.raw, f.env, f.sensorIps)).verdict.kind, "relay-test");
    assert.equal(pool.givenUp, 0);
    const big = await pool.analyze(htmlOnly(100_000), ENV, SENSORS);
    assert.match(big.parsed.parseError ?? "", /took over 1 ms/);
    assert.equal(pool.givenUp, 1);
  } finally {
    await pool.close();
  }
});

/** Worker scripts that die before they have loaded (they never post "ready"). */
const DEAD_AT_START = {
  throws: new URL(`data:text/javascript,${encodeURIComponent('throw new Error("broken worker");')}`),
  exits: new URL(`data:text/javascript,${encodeURIComponent("process.exit(3);")}`),
};

test("messages a worker died on before it was ready are not given up; once workers keep failing they are analyzed in-thread", async () => {
  for (const [name, workerUrl] of Object.entries(DEAD_AT_START)) {
    const logs: string[] = [];
    const pool = createAnalysisPool({ workers: 2, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 30_000, maxHeapMb: 256, log: (l) => logs.push(l), workerUrl });
    try {
      const fixtures = RELAY_TESTS.slice(0, 3);
      const results = await Promise.all(fixtures.map((f) => pool.analyze(f.raw, f.env, f.sensorIps)));
      for (const [i, f] of fixtures.entries()) {
        const r = results[i];
        assert.ok(r);
        assert.equal(r.parsed.parseError, null, `${name}: ${f.name}`);
        assert.deepEqual(r.verdict, (await analyzeRaw(f.raw, f.env, f.sensorIps)).verdict, `${name}: ${f.name}`);
      }
      assert.equal(pool.givenUp, 0, name);
      assert.equal(logs.filter((l) => /analysis workers keep failing/.test(l)).length, 1, name);
      const f = RELAY_TESTS[3];
      assert.ok(f);
      assert.equal((await pool.analyze(f.raw, f.env, f.sensorIps)).verdict.kind, "relay-test", `${name}: in-thread from now on`);
    } finally {
      await pool.close();
    }
  }
});

test("closing while workers die before they are ready answers their messages unparsed, none given up", async () => {
  const pool = createAnalysisPool({ workers: 1, inlineMaxBytes: 0, maxTextChars: TEXT, timeoutMs: 30_000, maxHeapMb: 256, workerUrl: DEAD_AT_START.throws });
  const f = RELAY_TESTS[0];
  assert.ok(f);
  const pending = [pool.analyze(f.raw, f.env, f.sensorIps), pool.analyze(f.raw, f.env, f.sensorIps)];
  await pool.close();
  for (const r of await Promise.all(pending)) assert.match(r.parsed.parseError ?? "", /sensor stopping/);
  assert.equal(pool.givenUp, 0);
});
