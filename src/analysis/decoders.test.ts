// Unit tests of each decoder alone, the IP helpers, envelope unwrapping and the signature table.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeBase64,
  decodeDecimalAscii,
  decodeDotlessInt,
  decodeEnvelope,
  decodeHexAscii,
  decodeHexPort,
  decodePlainIps,
  decodeReversedIps,
  findIpv4,
  findIpv4Loose,
  hasDigit,
  isKnownTesterSignature,
  KNOWN_TESTER_SIGNATURES,
  normaliseIp,
  stripReceivedLines,
  unwrapRecipient,
  type SignatureInput,
} from "./index.js";
import { BODY_2003 } from "./fixtures.js";

const ips = (fs: Array<{ ip?: string }>) => fs.map((f) => f.ip);

test("normaliseIp: IPv4, IPv6 RFC 5952, IPv4-mapped, brackets, garbage", () => {
  assert.equal(normaliseIp("198.51.100.23"), "198.51.100.23");
  assert.equal(normaliseIp("[198.051.100.023]"), "198.51.100.23");
  assert.equal(normaliseIp("2001:0DB8:0000:0000:0000:0000:0000:0025"), "2001:db8::25");
  assert.equal(normaliseIp("[IPv6:2001:db8:0:0:1:0:0:1]"), "2001:db8::1:0:0:1");
  assert.equal(normaliseIp("::ffff:198.51.100.23"), "198.51.100.23");
  assert.equal(normaliseIp("::ffff:c633:6417"), "198.51.100.23");
  assert.equal(normaliseIp("::1"), "::1");
  assert.equal(normaliseIp("1:2:3:4:5:6:7:8"), "1:2:3:4:5:6:7:8");
  assert.equal(normaliseIp("256.1.1.1"), null);
  assert.equal(normaliseIp("12:17:21"), null);
  assert.equal(normaliseIp("hello"), null);
});

test("plain: glued, bracketed, IPv6; URL hosts and DNSBL names skipped", () => {
  assert.deepEqual(ips(decodePlainIps("198.51.100.23@pauletteOpen Relay", "subject")), ["198.51.100.23"]);
  assert.deepEqual(ips(decodePlainIps("relay [198.51.100.23] ok", "subject")), ["198.51.100.23"]);
  assert.deepEqual(ips(decodePlainIps("via IPv6:2001:db8::25 and [2001:db8::1]", "body")), ["2001:db8::25", "2001:db8::1"]);
  assert.deepEqual(ips(decodePlainIps("go to http://203.0.113.5/login or http://[2001:db8::5]/", "body")), []);
  assert.deepEqual(ips(decodePlainIps("23.100.51.198.zen.spamhaus.org", "body")), []);
  assert.deepEqual(ips(decodePlainIps("1.2.3.4.5 and 1234.5.6.7 and 12:17:21", "body")), []);
});

test("reversed: DNSBL names and sensor reversals, flagged reversed", () => {
  const dns = decodeReversedIps("lookup 23.100.51.198.in-addr.arpa", "body");
  assert.deepEqual(ips(dns), ["198.51.100.23"]);
  assert.equal(dns[0]?.reversed, true);
  assert.deepEqual(ips(decodeReversedIps("23.100.51.198", "subject", new Set(["198.51.100.23"]))), ["198.51.100.23"]);
  assert.deepEqual(ips(decodeReversedIps("23.100.51.198", "subject", new Set())), []);
});

test("decimal ASCII triplets: 2003 body wrapped at odd points, Message-ID local part", () => {
  const body = decodeDecimalAscii(BODY_2003, "body");
  assert.ok(body.some((f) => f.ip === "65.70.89.125" && f.strong), JSON.stringify(body));
  const mid = decodeDecimalAscii("054053046055048046056057046049050053", "message-id");
  assert.deepEqual(ips(mid), ["65.70.89.125"]);
  assert.deepEqual(decodeDecimalAscii("Call 0123456789012345678901234 now", "body"), []);
});

test("hex ASCII of an IP string, at either nibble alignment", () => {
  assert.deepEqual(ips(decodeHexAscii("3139382e35312e3130302e3233", "body")), ["198.51.100.23"]);
  assert.deepEqual(ips(decodeHexAscii("a3139382e35312e3130302e32333a3235", "body")), ["198.51.100.23"]);
  assert.deepEqual(decodeHexAscii("9f1ec6336417a0b4c4d2e8f7a9b0c1d2", "body"), []);
});

test("hex ASCII wrapped inside the hex of the dot is still found", () => {
  assert.deepEqual(ips(decodeHexAscii("3139382\ne35312e3130302e3233", "body")), ["198.51.100.23"]);
  assert.deepEqual(ips(decodeHexAscii("3139382E35312E3130302E3233", "body")), ["198.51.100.23"]);
});

test("decimal triplets wrapped inside the triplets of the dot are still found", () => {
  assert.deepEqual(ips(decodeDecimalAscii("049057056046053049046049048048046050051\n", "body")), ["198.51.100.23"]);
  assert.deepEqual(ips(decodeDecimalAscii("04905705604\n6053049046049048048046050051\n", "body")), ["198.51.100.23"]);
});

test("1<8 hex>:port", () => {
  assert.deepEqual(ips(decodeHexPort("id 1C6336417:25 x", "subject")), ["198.51.100.23"]);
  assert.deepEqual(decodeHexPort("1C6336417:99999", "subject"), []);
  assert.deepEqual(decodeHexPort("x1C6336417:25", "subject"), []);
  // back to back, and at the start: a separator (or nothing) before the "1" is enough
  assert.deepEqual(ips(decodeHexPort("1C6336417:25,1CB007109:587", "subject")), ["198.51.100.23", "203.0.113.9"]);
  assert.equal(decodeHexPort("1C6336417:25,1CB007109:587", "subject")[1]?.found, "1CB007109:587 -> 203.0.113.9:587");
  assert.deepEqual(decodeHexPort("1C6336417:250000", "subject"), []);
});

test("dotless 32-bit integers", () => {
  assert.deepEqual(ips(decodeDotlessInt("relay 3325256727", "subject")), ["198.51.100.23"]);
  assert.deepEqual(decodeDotlessInt("4294967296 123 12345678.9", "subject"), []);
  assert.deepEqual(ips(decodeDotlessInt("3325256727,3405803785", "subject")), ["198.51.100.23", "203.0.113.9"]);
  assert.deepEqual(decodeDotlessInt("x3325256727 .3325256727 3325256727x", "subject"), []);
  assert.equal(decodeDotlessInt("(3325256727)", "subject")[0]?.found, "3325256727 -> 198.51.100.23");
});

test("findIpv4: canonical octets, out-of-range quads dropped; hasDigit", () => {
  assert.deepEqual(findIpv4("a 198.051.100.023 b 0.0.0.0 c 256.1.1.1 d 1.2.3.4").map((m) => [m.ip, m.text, m.index]), [
    ["198.51.100.23", "198.051.100.023", 2],
    ["0.0.0.0", "0.0.0.0", 20],
    ["1.2.3.4", "1.2.3.4", 42],
  ]);
  assert.deepEqual(findIpv4("no digits here"), []);
  assert.equal(hasDigit("abc"), false);
  assert.equal(hasDigit(""), false);
  for (const d of "0123456789") assert.equal(hasDigit(`x${d}y`), true, d);
});

test("base64 ip:port at every alignment inside a blob; raw octets never count", () => {
  const enc = Buffer.from("198.51.100.23:25").toString("base64");
  for (const prefix of ["", "Q", "Qx", "Qx9", "Qx9z", "AbCdE"]) {
    const fs = decodeBase64(`tok=${prefix}${enc}`, "body");
    assert.ok(fs.some((f) => f.ip === "198.51.100.23" && f.strong), `${prefix}: ${JSON.stringify(fs)}`);
  }
  const wrapped = Buffer.from(`${"x".repeat(50)}198.51.100.23:25${"y".repeat(50)}`).toString("base64").replace(/(.{40})/g, "$1\n");
  assert.ok(decodeBase64(wrapped, "body").some((f) => f.ip === "198.51.100.23" && f.strong));
  const raw = Buffer.from([0x10, 198, 51, 100, 23, 0x20, 0xff, 0x00, 198, 51, 100, 23]).toString("base64");
  assert.deepEqual(decodeBase64(raw, "body"), []);
});

test("loose IP finder lists other readings when digits may be glued before the first octet", () => {
  const loose = (t: string) => findIpv4Loose(t).map((m) => [m.ip, m.alternatives ?? []]);
  assert.deepEqual(loose("\x01971.2.3.4:25"), [["71.2.3.4", ["1.2.3.4"]]]);
  assert.deepEqual(loose("`80.0.0.0:1"), [["80.0.0.0", ["0.0.0.0"]]]);
  // After a separator the longest reading is the plain one; the shorter ones are still listed (they count only when
  // one is a sensor address), as random bytes can end in a separator and a digit.
  assert.deepEqual(loose("x=1.2.3.4 y:198.51.100.23:25"), [["1.2.3.4", []], ["198.51.100.23", ["98.51.100.23", "8.51.100.23"]]]);
  assert.deepEqual(loose("\0\r30.0.0.0:1"), [["30.0.0.0", ["0.0.0.0"]]]);
});

test("envelope: literal, %-hack, quoted, bang, plain", () => {
  assert.deepEqual(unwrapRecipient("<user%dropbox.example@[198.51.100.23]>"), { dropbox: "user@dropbox.example", trick: "percent-hack", ip: "198.51.100.23" });
  assert.deepEqual(unwrapRecipient('<"User@Dropbox"@198.51.100.23>'), { dropbox: "user@dropbox", trick: "quoted", ip: "198.51.100.23" });
  assert.deepEqual(unwrapRecipient("<dropbox.example!user@[198.51.100.23]>"), { dropbox: "user@dropbox.example", trick: "bang", ip: "198.51.100.23" });
  assert.deepEqual(unwrapRecipient("<Postmaster@[IPv6:2001:db8::25]>"), { dropbox: "postmaster@[ipv6:2001:db8::25]", trick: "literal", ip: "2001:db8::25" });
  assert.deepEqual(unwrapRecipient("<Joe@Example.com>"), { dropbox: "joe@example.com", trick: "none", ip: null });
  const { findings, dropboxes, recipients } = decodeEnvelope({ clientIp: "203.0.113.1", helo: null, mailFrom: "<a@[203.0.113.9]>", rcptTo: ["<a%b.example@[198.51.100.23]>", "<c@d.example>"] });
  assert.deepEqual(dropboxes, ["a@b.example", "c@d.example"]);
  assert.deepEqual(recipients, [
    { dropbox: "a@b.example", trick: "percent-hack", ip: "198.51.100.23" },
    { dropbox: "c@d.example", trick: "none", ip: null },
  ]);
  assert.deepEqual(findings.map((f) => [f.decoder, f.field, f.ip]), [
    ["envelope-percent-hack", "rcpt", "198.51.100.23"],
    ["envelope-literal", "mail-from", "203.0.113.9"],
  ]);
});

test("signature table: names are unique and each example matches", () => {
  const names = KNOWN_TESTER_SIGNATURES.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  const base: SignatureInput = { subject: "", subjectIsTest: true, shortMail: true, body: "", headers: [], mailFrom: "", rcpts: [] };
  const cases: Array<[string, Partial<SignatureInput>]> = [
    ["dsbl", { body: "DSBL LISTME: smtp 198.51.100.23 abc" }],
    ["promiscuous-relay", { subject: "PROMISCUOUS RELAY" }],
    ["nessus", { subject: "Nessus relay test", mailFrom: "<nessus@nessus.org>" }],
    ["nessus-phrase", { subject: "Nessus relay test" }],
    ["openvas", { subject: "OpenVAS relay check" }],
    ["scanner-mail-relaying-test", { subject: "Mail relaying test" }],
    ["nmap-smtp-open-relay", { rcpts: ["<relaytest@nmap.scanme.org>"] }],
    ["swaks-header", { headers: [{ key: "x-mailer", value: "swaks v20201014.0 jetmore.org/john/code/swaks/" }] }],
    ["swaks", { headers: [{ key: "x-mailer", value: "swaks v20201014.0 jetmore.org/john/code/swaks/" }], subject: "test Tue, 02 Jan 2024 10:00:00 +0000", body: "This is a test mailing\n" }],
    ["mailradar", { mailFrom: "<antispam@mailradar.com>", rcpts: ["<relaytest@mailradar.com>"] }],
    ["appriver", { rcpts: ["<relaytest@appriver.com>"] }],
    ["auth-cracker-report", { body: "198.51.100.23:587:admin:letmein\n" }],
    ["mx-check", { subject: "MX check mail.example.net" }],
    ["proxy-judge", { headers: [{ key: "x-proxy-spec", value: "1" }] }],
    ["mxtoolbox", { rcpts: ["<test@mxtoolboxsmtpdiag.com>"] }],
    ["maps-rss", { rcpts: ["<relaytest@mail-abuse.org>"] }],
    ["relay-test-phrase", { subject: "Open relay test" }],
  ];
  for (const [name, input] of cases) assert.equal(isKnownTesterSignature({ ...base, ...input })?.name, name, name);
  assert.equal(isKnownTesterSignature({ ...base, subject: "Weekly newsletter", body: "Lots of tests inside" }), null);
  // a checker's domain alone, a phrase inside a URL, a phrase in the subject of a page: no signature
  assert.equal(isKnownTesterSignature({ ...base, rcpts: ["<hostmaster@mail-abuse.org>"] }), null);
  assert.equal(isKnownTesterSignature({ ...base, body: "see www.openrelaycheck.com and http://relaytest.example/x" }), null);
  assert.equal(isKnownTesterSignature({ ...base, subject: "relay test 198.51.100.23", subjectIsTest: false }), null);
  for (const s of KNOWN_TESTER_SIGNATURES) assert.ok(s.source.length > 0 && s.recognisedBy.length > 0, s.name);
});

test("stripReceivedLines drops quoted Received blocks with continuations", () => {
  const t = "hello\nReceived: from x ([1.2.3.4])\n\tby y; date\n> Received: from z\nSubject: hi\n";
  assert.equal(stripReceivedLines(t), "hello\nSubject: hi\n");
});
