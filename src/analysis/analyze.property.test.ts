// Property tests: every encoder's output decodes back to the IP; random non-IP text never is a relay test.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { analyze, normaliseIp, shapeOf } from "./index.js";
import { parseMessage } from "./parse.js";
import { eml, env, trace } from "./fixtures.js";
import type { Verdict } from "./types.js";

const RUNS = 60;
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

async function verdictOf(subject: string, body: string, rcpt = "<z@dropbox.example>", extra: string[] = [], sensorIps: string[] = []): Promise<Verdict> {
  const raw = eml([trace("[203.0.113.99]"), "From: x@y.example", "To: z@dropbox.example", `Subject: ${subject}`, ...extra], body);
  return analyze(await parseMessage(raw), env("<x@y.example>", [rcpt]), sensorIps);
}

function expectTested(v: Verdict, ip: string): void {
  const want = normaliseIp(ip);
  assert.equal(v.kind, "relay-test", JSON.stringify(v));
  assert.ok(want !== null && v.testedIps.includes(want), `${ip}: ${JSON.stringify(v)}`);
}

/** Random bytes glued before the IP may end in a digit: then the IP is an alternative reading, unless it is a sensor IP. */
function expectTestedOrAlternative(v: Verdict, ip: string): void {
  const want = normaliseIp(ip) ?? "";
  assert.equal(v.kind, "relay-test", JSON.stringify(v));
  assert.ok(v.testedIps.includes(want) || v.evidence.some((e) => e.alternatives?.includes(want)), `${ip}: ${JSON.stringify(v)}`);
}

// Encoders (the spammer's side).
const decimalTriplets = (s: string): string => [...s].map((c) => String(c.charCodeAt(0)).padStart(3, "0")).join("");
const wrap = (s: string, width: number): string => s.replace(new RegExp(`(.{${width}})`, "g"), "$1\n");
const ipInt = (ip: string): number => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const hex8 = (ip: string): string => ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");

const port = fc.integer({ min: 1, max: 65535 });
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6().filter((ip) => normaliseIp(ip) !== "::");
const publicV4 = fc.tuple(fc.integer({ min: 1, max: 255 }), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join("."));
const b64chars = (max: number) => fc.array(fc.constantFrom(...B64), { maxLength: max }).map((a) => a.join(""));

test("plain IPv4 in a test-shaped subject", async () => {
  await fc.assert(
    fc.asyncProperty(ipv4, fc.constantFrom("%s", "%s@pauletteOpen Relay", "open relay %s", "[%s]", "Relay %s test"), async (ip, tpl) => {
      expectTested(await verdictOf(tpl.replace("%s", ip), "hello\n"), ip);
    }),
    { numRuns: RUNS },
  );
});

test("plain IPv6 in a test-shaped subject", async () => {
  await fc.assert(
    fc.asyncProperty(ipv6, fc.constantFrom("[%s]", "%s open relay", "relay %s"), async (ip, tpl) => {
      expectTested(await verdictOf(tpl.replace("%s", ip), "hello\n"), ip);
    }),
    { numRuns: RUNS },
  );
});

test("decimal triplets wrapped at random widths", async () => {
  await fc.assert(
    fc.asyncProperty(ipv4, port, fc.integer({ min: 1, max: 90 }), async (ip, p, width) => {
      expectTested(await verdictOf("", `${wrap(decimalTriplets(`${ip}:${p}:`), width)}\n`), ip);
    }),
    { numRuns: RUNS },
  );
});

test("hex ASCII of the IP string", async () => {
  await fc.assert(
    fc.asyncProperty(ipv4, fc.boolean(), async (ip, upper) => {
      const h = Buffer.from(ip).toString("hex");
      expectTested(await verdictOf("news", `ref ${upper ? h.toUpperCase() : h}\n`), ip);
    }),
    { numRuns: RUNS },
  );
});

test("1<8 hex>:port", async () => {
  await fc.assert(
    fc.asyncProperty(ipv4, port, fc.boolean(), async (ip, p, upper) => {
      const h = hex8(ip);
      expectTested(await verdictOf(`1${upper ? h.toUpperCase() : h}:${p}`, "x\n"), ip);
    }),
    { numRuns: RUNS },
  );
});

test("dotless 32-bit integer in a relay subject", async () => {
  await fc.assert(
    fc.asyncProperty(publicV4, async (ip) => {
      expectTested(await verdictOf(`relay ${ipInt(ip)}`, "x\n"), ip);
    }),
    { numRuns: RUNS },
  );
});

test("base64 of ip:port glued after a random base64 prefix, in body or X- header", async () => {
  await fc.assert(
    fc.asyncProperty(ipv4, port, b64chars(40), b64chars(20), fc.boolean(), async (ip, p, prefix, suffix, inHeader) => {
      const blob = `${prefix}${Buffer.from(`${ip}:${p}`).toString("base64")} ${suffix}`;
      const headers = inHeader ? [`X-Id: ${blob}`] : [];
      const body = inHeader ? "hello\n" : `id=${blob}\n`;
      expectTestedOrAlternative(await verdictOf("hi", body, undefined, headers), ip);
      const v = await verdictOf("hi", body, undefined, headers, [ip]);
      expectTested(v, ip);
      assert.equal(v.matchesSensor, true);
    }),
    { numRuns: RUNS },
  );
});

test("base64 of random bytes around ip:port, whole blob wrapped", async () => {
  await fc.assert(
    fc.asyncProperty(ipv4, port, fc.uint8Array({ maxLength: 60 }), fc.uint8Array({ maxLength: 60 }), async (ip, p, pre, post) => {
      const safe = (a: Uint8Array) => Buffer.from(a).map((b) => (b >= 0x2e && b <= 0x39 ? b + 20 : b)); // no digits/dots glued to the IP
      const blob = Buffer.concat([safe(pre), Buffer.from(`${ip}:${p}`), safe(post)]).toString("base64");
      expectTested(await verdictOf("hi", `${wrap(blob, 76)}\n`), ip);
    }),
    { numRuns: RUNS },
  );
});

test("envelope address literal", async () => {
  await fc.assert(
    fc.asyncProperty(fc.oneof(ipv4, ipv6), async (ip) => {
      const lit = ip.includes(":") ? `[IPv6:${ip}]` : `[${ip}]`;
      expectTested(await verdictOf("hello", "hi\n", `<relaytest@${lit}>`), ip);
    }),
    { numRuns: RUNS },
  );
});

const WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua offer sale free money click here".split(" ");
const nonIpText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.array(fc.constantFrom(...WORDS), { maxLength: 60 }).map((w) => w.join(" ")),
).filter((s) => !/\d\.\d|::|[0-9a-f]:[0-9a-f]|relay|listme|promiscuous|nessus|openvas|proxy/i.test(s));

test("random non-IP text is never a relay test", async () => {
  await fc.assert(
    fc.asyncProperty(nonIpText, nonIpText, async (subject, body) => {
      const v = await verdictOf(subject.replace(/[\r\n]/g, " "), `${body}\n`);
      assert.notEqual(v.kind, "relay-test", JSON.stringify({ subject, body, v }));
    }),
    { numRuns: 200 },
  );
});

test("shapeOf residue is the number of \\p{L} code units left, for any text", () => {
  const noDigitsOrWords = fc
    .oneof(fc.string({ unit: "binary", maxLength: 120 }), fc.string({ unit: "grapheme", maxLength: 60 }), fc.string({ maxLength: 120 }))
    .filter((s) => !/[0-9:]|relay|proxy|listme|promiscuous|test|check|probe|scan/i.test(s));
  fc.assert(
    fc.property(noDigitsOrWords, (s) => {
      assert.equal(shapeOf(s).residue, s.replace(/[^\p{L}]/gu, "").length, JSON.stringify(s));
    }),
    { numRuns: 2000 },
  );
});
