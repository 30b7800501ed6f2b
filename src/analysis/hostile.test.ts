// Hostile and huge inputs: analyze must return (bounded scanning, linear regexes, no exceptions). No timing asserts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { analyze } from "./index.js";
import { parseMessage } from "./parse.js";
import { HARD_NEGATIVES, RELAY_TESTS, eml, env } from "./fixtures.js";
import type { ParsedMessage } from "./types.js";

const ENV = env("<x@y.example>", ["<z@dropbox.example>"]);

/** A ParsedMessage built directly (skips mailparser, which is not under test here). */
function parsed(over: Partial<ParsedMessage>): ParsedMessage {
  return {
    raw: Buffer.alloc(0), sha256: "", size: 0, headers: [], subject: null, from: null, to: null, dateHeader: null,
    date: null, messageId: null, text: null, html: null, attachments: [], parseError: null, ...over,
  };
}

test("5 MB body of random base64 through parseMessage", async () => {
  const blob = randomBytes(3_750_000).toString("base64").replace(/(.{76})/g, "$1\n");
  const msg = await parseMessage(eml(["From: x@y.example", "To: z@dropbox.example", "Subject: data"], blob));
  const v = analyze(msg, ENV, ["198.51.100.23"]);
  assert.notEqual(v.kind, "relay-test");
});

test("1 MB line of digits", async () => {
  const digits = Array.from({ length: 1_000_000 }, () => String(Math.floor(Math.random() * 10))).join("");
  const v = analyze(parsed({ subject: digits, text: digits }), ENV, ["198.51.100.23"]);
  assert.ok(v.kind === "spam" || v.kind === "relay-test");
});

test("pathological repetitions in every scanned field", () => {
  const bigs = [
    " ".repeat(300_000) + "x",
    "1.".repeat(300_000),
    "1.1.1.1.".repeat(100_000),
    ":".repeat(300_000),
    "a:".repeat(300_000),
    "<".repeat(300_000),
    "2e".repeat(300_000),
    "3131312e".repeat(100_000),
    "046049".repeat(100_000),
    "open ".repeat(100_000),
    "A".repeat(600_000) + "=",
    "@".repeat(300_000),
    "\n".repeat(300_000),
    "%!\"@[".repeat(100_000),
  ];
  for (const s of bigs) {
    const headers = Array.from({ length: 5000 }, (_, i) => ({ key: `x-relay-test-${i}`, value: s.slice(0, 10_000) }));
    const msg = parsed({ subject: s, text: s, html: s, from: s, to: s, messageId: s, headers: [{ key: "message-id", value: s }, ...headers] });
    const v = analyze(msg, { clientIp: s, helo: s, mailFrom: s, rcptTo: Array.from({ length: 2000 }, () => s.slice(0, 1000)) }, [s, "198.51.100.23"]);
    assert.ok(v.score >= 0 && v.score <= 100);
    analyze(parsed({ text: null, html: s }), ENV, []);
  }
});

test("throughput on ordinary fixtures (diagnostic only)", async (t) => {
  const all = [...RELAY_TESTS, ...HARD_NEGATIVES];
  const msgs = await Promise.all(all.map(async (f) => ({ msg: await parseMessage(f.raw), f })));
  const n = 2000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const x = msgs[i % msgs.length];
    if (x) analyze(x.msg, x.f.env, x.f.sensorIps);
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.diagnostic(`analyze: ${Math.round((n / ms) * 1000)} msg/s on fixtures`);
  assert.ok(ms >= 0);
});
