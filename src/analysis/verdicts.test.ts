// Issue 15: each false positive named in the issue (same shape, own bytes) is not a relay test and never certain;
// each style the analyzer missed is now a certain (or, for host-only MX checks, likely) relay test with the right IP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyze, isActionable } from "./index.js";
import { parseMessage } from "./parse.js";
import { eml, env, SENSOR_V4 } from "./fixtures.js";
import type { Envelope } from "./types.js";

const S = SENSOR_V4;

interface Case {
  name: string;
  raw: Buffer;
  env: Envelope;
  sensorIps?: string[];
}

async function verdict(c: Case, sensorIps = c.sensorIps ?? [S]) {
  return analyze(await parseMessage(c.raw), c.env, sensorIps);
}

const FALSE_POSITIVES: Case[] = [
  {
    name: "provider's server test results to postmaster@[sensor ip], admins in Cc",
    raw: eml(
      ["From: Server Check <checks@hosting.example>", `To: postmaster@[${S}]`, "Cc: admin1@customer.example, admin2@customer.example", `Subject: Server test results for ${S}`],
      `Dear administrator,\n\nour scheduled check of ${S} found:\n  open relay test 1 (user%example.com@[${S}]): rejected\n  open relay test 2: rejected\n\nRegards, the hosting team\n`,
    ),
    env: env("<checks@hosting.example>", [`<postmaster@[${S}]>`, "<admin1@customer.example>", "<admin2@customer.example>"]),
  },
  {
    name: "spam to hostmaster@mail-abuse.org (a checker's domain alone)",
    raw: eml(["From: seo@rank.example", "To: hostmaster@mail-abuse.org", "Subject: Get on page one of Google"], "We rank your site in 30 days.\n"),
    env: env("<seo@rank.example>", ["<hostmaster@mail-abuse.org>"]),
  },
  {
    name: "list post whose subject is 'Open Relay Check'",
    raw: eml(
      ["From: Ann <ann@users.example>", "To: postfix-users@lists.example", "Subject: Open Relay Check", "List-Id: Postfix users <postfix-users.lists.example>", "Precedence: list"],
      `Hi all, how do you run an open relay check against ${S}?\n`,
    ),
    env: env("<postfix-users-bounces@lists.example>", ["<member@trap.example>"]),
  },
  {
    name: "list reply with the URL www.openrelaycheck.com",
    raw: eml(["From: Bob <bob@users.example>", "To: ops@lists.example", "Subject: Re: relay question"], "Try www.openrelaycheck.com or http://openrelaycheck.example/check?x=1\n"),
    env: env("<bob@users.example>", ["<ops@trap.example>"]),
  },
  {
    name: "'Invoice 4711' spam whose only trait is X-Mailer: swaks",
    raw: eml(["From: billing@invoices.example", "To: victim@example.com", "Subject: Invoice 4711", "X-Mailer: swaks v20240103.0 jetmore.org/john/code/swaks/"], "Please find your invoice 4711 attached.\n"),
    env: env("<billing@invoices.example>", ["<victim@example.com>", "<victim2@example.com>"]),
  },
  {
    name: "a human's question about relaying quoting an IP",
    raw: eml(["From: Carl <carl@example.net>", "To: help@trap.example", "Subject: Re: can you relay for us?"], `Hi, can your server at ${S} relay mail for our office? Thanks, Carl\n`),
    env: env("<carl@example.net>", ["<help@trap.example>"]),
  },
  {
    name: "DNSBL listing notice",
    raw: eml(
      ["From: DNSBL Monitor <alerts@monitor.example>", "To: noc@trap.example", `Subject: ${S} listed`, "Auto-Submitted: auto-generated"],
      `${S} is listed:\n  ${S.split(".").reverse().join(".")}.zen.example -> 127.0.0.2\n  ${S.split(".").reverse().join(".")}.bl.example -> 127.0.0.4\n`,
    ),
    env: env("<alerts@monitor.example>", ["<noc@trap.example>"]),
  },
  {
    name: "2 MB phishing page with 'relay test <sensor ip>' in its subject",
    raw: eml(
      ["From: IT <it@login.example>", "To: victim@example.com", `Subject: relay test ${S}`, "MIME-Version: 1.0", "Content-Type: text/html; charset=utf-8"],
      `<html><body>${'<p>Your mailbox is full. <a href="http://login.example/v">Verify now</a></p>\n'.repeat(28_000)}</body></html>\n`,
    ),
    env: env("<it@login.example>", ["<victim@example.com>"]),
  },
];

for (const c of FALSE_POSITIVES) {
  for (const sensorIps of [[S], []]) {
    test(`false positive (issue 15), ${sensorIps.length ? "with" : "without"} sensor IP: ${c.name}`, async () => {
      const v = await verdict(c, sensorIps);
      const why = JSON.stringify(v, null, 1);
      assert.notEqual(v.kind, "relay-test", why);
      assert.notEqual(v.confidence, "certain", why);
      assert.equal(isActionable(v), false);
      assert.deepEqual(v.dropboxes, [], why);
    });
  }
}

const hex8 = (ip: string) => ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0")).join("");
const int = (ip: string) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const gb = (bytes: number[] | string) => `=?GB2312?B?${Buffer.from(bytes as string).toString("base64")}?=`;

const MISSED: Array<Case & { tested: string[]; dropboxes?: string[]; confidence?: "certain" | "likely" }> = [
  { name: "hex with a 0x prefix in the body", raw: eml(["From: a@example.com", "To: b@example.net", "Subject: hi"], `0x${hex8(S).toUpperCase()}\n`), env: env("<a@example.com>", ["<b@example.net>"]), tested: [S] },
  { name: "dotless integer inside a URL query string", raw: eml(["From: a@example.com", "To: b@example.net", "Subject: confirm"], `http://cb.example.com/r.php?ip=${int(S)}&p=25\n`), env: env("<a@example.com>", ["<b@example.net>"]), tested: [S] },
  { name: "reversed octets, DNSBL style, in the body", raw: eml(["From: a@example.com", "To: b@example.net", "Subject: x"], `${S.split(".").reverse().join(".")}.in-addr.arpa\n`), env: env("<a@example.com>", ["<b@example.net>"]), tested: [S] },
  { name: "fully expanded IPv6", raw: eml(["From: a@example.com", "To: b@example.net", "Subject: 2001:0db8:0000:0000:0000:0000:0000:0025"], "\n"), env: env("<a@example.com>", ["<b@example.net>"]), sensorIps: ["2001:db8::25"], tested: ["2001:db8::25"] },
  {
    name: "RFC 2047 GB2312 words with the IP split across them",
    raw: eml(["From: a@example.com", "To: b@example.net", `Subject: ${gb([0xb2, 0xe2, 0xca, 0xd4, 0x20, ...Buffer.from(S.slice(0, 7))])} ${gb(S.slice(7))}`], "\n"),
    env: env("<a@example.com>", ["<b@example.net>"]),
    tested: [S],
  },
  { name: "the IP in a spam-info style X- header", raw: eml(["From: a@example.com", "To: b@example.net", "Subject: Hello", `X-Spam-Info: ${S}`], "Hi there\n"), env: env("<a@example.com>", ["<b@example.net>"]), tested: [S] },
  { name: "the IP dashed into the recipient's local part", raw: eml(["From: a@example.com", "To: relay-203-0-113-10-25@example.net", "Subject: hello"], "hello\n"), env: env("<a@example.com>", ["<relay-203-0-113-10-25@example.net>"]), sensorIps: ["203.0.113.10"], tested: ["203.0.113.10"] },
  { name: "MX check naming only the target host", raw: eml(["From: a@example.com", "To: b@example.net", "Subject: MX check mx.trap.example"], "\n"), env: env("<a@example.com>", ["<b@example.net>"]), tested: [], confidence: "likely" },
  { name: "AUTH-cracker report, labelled", raw: eml(["From: a@example.com", "To: drop@example.net", "Subject: ok"], `host: ${S}\nport: 587\nuser: info\npass: secret1\n`), env: env("<a@example.com>", ["<drop@example.net>"]), tested: [S] },
  {
    name: "AUTH-cracker report, RFC 2047-encoded, from behind NAT (report names the public address)",
    raw: eml(["From: a@example.com", "To: drop@example.net", `Subject: =?UTF-8?B?${Buffer.from(`SMTP ${S}`).toString("base64")}?=`], `${S}|25|sales|sales2024\n`),
    env: { ...env("<a@example.com>", ["<drop@example.net>"]) },
    sensorIps: [S, "10.0.0.5"],
    tested: [S],
  },
  { name: "trailing-@ envelope trick", raw: eml(["From: a@example.com", "To: relaytest@example.org", `Subject: ${S}`], "x\n"), env: env("<a@example.com>", ["<relaytest@example.org@>"]), tested: [S], dropboxes: ["relaytest@example.org"] },
  { name: "mailradar's checker", raw: eml(["From: antispam@mailradar.com", "To: relaytest@mailradar.com", "Subject: test"], "test\n"), env: env("<antispam@mailradar.com>", ["<relaytest@mailradar.com>"]), tested: [] },
  { name: "AppRiver's checker (relaytest@ at the checker's domain)", raw: eml(["From: x@appriver.com", "To: relaytest@appriver.com", "Subject: test"], "test\n"), env: env("<x@appriver.com>", ["<relaytest@appriver.com>"]), tested: [] },
  { name: "spamtest@ at a checker's domain", raw: eml(["From: x@example.com", "To: spamtest@mail-abuse.org", "Subject: x"], "x\n"), env: env("<x@example.com>", ["<spamtest@mail-abuse.org>"]), tested: [] },
];

for (const c of MISSED) {
  for (const withSensor of [true, false]) {
    test(`missed style (issue 15), ${withSensor ? "with" : "without"} sensor IP: ${c.name}`, async () => {
      const v = await verdict(c, withSensor ? (c.sensorIps ?? [S]) : []);
      const why = JSON.stringify(v, null, 1);
      assert.equal(v.kind, "relay-test", why);
      assert.equal(v.confidence, c.confidence ?? "certain", why);
      assert.deepEqual(v.testedIps.slice(0, c.tested.length), c.tested, why);
      if (c.tested.length === 0) assert.deepEqual(v.testedIps, [], why);
      if (c.dropboxes) assert.deepEqual(v.dropboxes, c.dropboxes, why);
      assert.ok((v.reasons ?? []).length > 0, why);
    });
  }
}
