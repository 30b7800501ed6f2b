// The hand-written scans stand in for simpler regex/split forms: for any text they give what those forms give.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { localParts, relayWords, shapeOf, stripReceivedLines } from "./fields.js";
import { decodeHexPort, unwrap } from "./decoders.js";
import { parseIpv4 } from "./ip.js";

// Text drawn from the characters the scans look at (blanks of every kind, separators, digits, "@", ":"), plus any.
const PIECES = [" ", "\t", "\n", "\r", "\u00a0", "\u2028", "\ufeff", "\u3000", "\v", "@", ":", ".", "<", ">", '"', ",", "a", "Z", "1", "9", "e", "x", "relay", "test", "Received:", "received-spf:", "1C6336417:25", "::1c"];
const text = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 80 }).map((xs) => xs.join("")),
  fc.string({ unit: "binary", maxLength: 120 }),
  fc.tuple(fc.nat(100), fc.constantFrom("a", "é")).map(([n, c]) => `${c.repeat(n)}@x`),
);

test("unwrap is split, trim and join", () => {
  fc.assert(
    fc.property(text, (s) => assert.equal(unwrap(s), s.includes("\n") ? s.split("\n").map((l) => l.trim()).join("") : s)),
    { numRuns: 3000 },
  );
});

test("localParts finds what /[^\\s<>\"(),;:@]{1,64}@/g finds", () => {
  fc.assert(
    fc.property(text, (s) => {
      const want = [...s.slice(0, 8192).matchAll(/[^\s<>"(),;:@]{1,64}@/g)].map((m) => m[0].slice(0, -1)).slice(0, 200);
      assert.deepEqual(localParts(s), want, JSON.stringify(s));
    }),
    { numRuns: 3000 },
  );
});

test("parseIpv4 is split('.') with 1-3 digit octets up to 255", () => {
  const quad = fc.array(fc.constantFrom("0", "1", "2", "5", "9", ".", "255", "256", "a", " "), { maxLength: 14 }).map((xs) => xs.join(""));
  fc.assert(
    fc.property(quad, (s) => {
      const parts = s.split(".");
      const want = parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255) ? parts.map(Number) : null;
      assert.deepEqual(parseIpv4(s), want, JSON.stringify(s));
    }),
    { numRuns: 3000 },
  );
});

/** stripReceivedLines without its prechecks. */
function stripReceivedReference(t: string): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of t.split("\n")) {
    if (/^[\s>]*(x-)?received(-spf)?:/i.test(line)) {
      skipping = true;
      continue;
    }
    if (skipping && /^[>]*[ \t]/.test(line) && line.trim() !== "" && line.trim() !== ">") continue;
    skipping = false;
    out.push(line);
  }
  return out.join("\n");
}

test("relayWords lists shapeOf's words; the cheap checks before scans change no result", () => {
  fc.assert(
    fc.property(text, (s) => {
      const w = relayWords(s);
      const shape = shapeOf(s);
      assert.deepEqual([w.strong, w.weak], [shape.strong, shape.weak], JSON.stringify(s));
      assert.equal(stripReceivedLines(s), stripReceivedReference(s), JSON.stringify(s));
      const ports = [...s.matchAll(/(?<![0-9A-Za-z])1([0-9A-Fa-f]{8}):(\d{1,5})(?!\d)/g)].filter((m) => Number(m[2]) >= 1 && Number(m[2]) <= 65535);
      assert.equal(decodeHexPort(s, "f").length, ports.length, JSON.stringify(s));
    }),
    { numRuns: 3000 },
  );
});
