// Abuse reports and feeds: ARF parsed back by mailparser, X-ARF checked against its JSON schema (test fixture), RDAP
// against a local fixture server (never the internet), the MISP feed directory, and the report/feed CLI on a real store.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { isIP } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { simpleParser } from "mailparser";
import { runCli, startSensor, tempDir, type TestSensor } from "../../test/helpers/sensor.js";
import { SmtpClient } from "../../test/helpers/smtp-client.js";
import { buildArf } from "./arf.js";
import { mispEvents, toCsv, writeMispFeed } from "./feeds.js";
import { abuseEmails, createRdap } from "./rdap.js";
import { redactAddress } from "./redact.js";
import type { ReportInput } from "./types.js";
import { buildXarf } from "./xarf.js";

const SCHEMA = JSON.parse(readFileSync(new URL("../../../test/fixtures/xarf/xarf-0.4.schema.json", import.meta.url), "utf8")) as Schema;
const DROPBOX = "collector77@yahoo.example";
const VICTIM = "victim@example.org";

const RAW = Buffer.from(
  [
    "Received: from tester (unknown [203.0.113.7])",
    "From: paulette <paulette@spammer.example>",
    `To: ${DROPBOX}`,
    `Cc: ${VICTIM}`,
    "Subject: 198.51.100.23@pauletteOpen Relay",
    "Message-ID: <abc@spammer.example>",
    "",
    `198.51.100.23@pauletteOpen Relay, also mail ${VICTIM}`,
    "",
  ].join("\r\n"),
  "latin1",
);

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    kind: "source",
    message: {
      id: 7,
      receivedAt: Date.UTC(2026, 10, 27, 14, 58, 32),
      srcIp: "203.0.113.7",
      srcPort: 40816,
      destIp: "198.51.100.23",
      destPort: 25,
      helo: "tester.spammer.example",
      mailFrom: "paulette@spammer.example",
      rcptTo: [DROPBOX, VICTIM],
      subject: "198.51.100.23@pauletteOpen Relay",
      kind: "relay-test",
      testedIps: ["198.51.100.23"],
      dropboxes: [DROPBOX],
      tester: "paulette",
      raw: RAW,
    },
    reportingHost: "mx1.example.net",
    reporter: { name: "relaytrap", version: "0.1.0", from: "Abuse desk <abuse-reports@example.net>" },
    to: "abuse@isp.example",
    attach: "headers",
    redactionKey: "k".repeat(64),
    ...over,
  };
}

function fields(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!.toLowerCase(), [...(out.get(m[1]!.toLowerCase()) ?? []), m[2]!]);
  }
  return out;
}

describe("ARF (RFC 5965)", () => {
  it("is a multipart/report with the human part, the feedback report and the redacted original header", async () => {
    const raw = await buildArf(input());
    const text = raw.toString("latin1");
    assert.match(text, /^Content-Type: multipart\/report; report-type=feedback-report;/m);
    const mail = await simpleParser(raw);
    assert.equal(mail.subject, "Abuse report: open-relay test from 203.0.113.7");
    assert.equal((mail.to as { text: string }).text, "abuse@isp.example");
    assert.match(mail.text ?? "", /203\.0\.113\.7 \(port 40816\) tried to use a honeypot/);
    const fb = mail.attachments.find((a) => a.contentType === "message/feedback-report");
    assert.ok(fb, mail.attachments.map((a) => a.contentType).join());
    const f = fields(fb.content.toString("utf8"));
    assert.deepEqual(f.get("feedback-type"), ["abuse"]);
    assert.deepEqual(f.get("user-agent"), ["relaytrap/0.1.0"]);
    assert.deepEqual(f.get("version"), ["1"]);
    assert.deepEqual(f.get("source-ip"), ["203.0.113.7"]);
    assert.deepEqual(f.get("source-port"), ["40816"]);
    assert.deepEqual(f.get("original-mail-from"), ["<paulette@spammer.example>"]);
    assert.deepEqual(f.get("arrival-date"), ["Fri, 27 Nov 2026 14:58:32 +0000"]);
    assert.deepEqual(f.get("reported-domain"), ["spammer.example"]);
    assert.deepEqual(f.get("reporting-mta"), ["dns; mx1.example.net"]);
    // RFC 6590: trap recipients redacted, the same token in the report and in the original.
    const red = redactAddress(VICTIM, "k".repeat(64));
    const redDrop = redactAddress(DROPBOX, "k".repeat(64));
    assert.deepEqual(f.get("original-rcpt-to"), [`<${redDrop}>`, `<${red}>`]);
    const orig = mail.attachments.find((a) => a.contentType === "text/rfc822-headers");
    assert.ok(orig);
    const o = orig.content.toString("latin1");
    assert.match(o, /^Subject: 198\.51\.100\.23@pauletteOpen Relay$/m);
    assert.ok(o.includes(`Cc: ${red}`), o);
    assert.ok(!o.toLowerCase().includes(VICTIM) && !text.toLowerCase().includes(VICTIM), "the victim address must not appear");
    assert.ok(!o.includes("also mail"), "headers only: no body");
  });

  it("a dropbox report names the dropbox, attaches the whole message, and still redacts the other recipients", async () => {
    const raw = await buildArf(input({ kind: "dropbox", dropbox: DROPBOX, otherSources: ["192.0.2.44"], attach: "message" }));
    const mail = await simpleParser(raw);
    assert.equal(mail.subject, `Abuse report: ${DROPBOX} collects open-relay tests`);
    assert.match(mail.text ?? "", /Other sources of relay tests to it: 192\.0\.2\.44/);
    const f = fields(mail.attachments.find((a) => a.contentType === "message/feedback-report")!.content.toString("utf8"));
    assert.deepEqual(f.get("reported-domain"), ["yahoo.example"]);
    assert.ok(f.get("original-rcpt-to")!.includes(`<${DROPBOX}>`));
    const orig = mail.attachments.find((a) => a.contentType === "message/rfc822");
    assert.ok(orig, mail.attachments.map((a) => a.contentType).join());
    const o = orig.content.toString("latin1");
    assert.ok(o.includes(`To: ${DROPBOX}`));
    assert.ok(o.includes("also mail redacted-") && !o.includes(VICTIM));
  });

  it("survives a message whose body was not kept and hostile header text", async () => {
    const i = input();
    const raw = await buildArf({ ...i, message: { ...i.message, raw: null, subject: "x\r\nBcc: injected@evil.example", mailFrom: "a\r\nX-Evil: 1@b" } });
    const mail = await simpleParser(raw);
    assert.equal(mail.headers.get("bcc"), undefined);
    assert.equal(mail.headers.get("x-evil"), undefined);
    const fb = mail.attachments.find((a) => a.contentType === "message/feedback-report")!.content.toString("utf8");
    assert.ok(!/^X-Evil/m.test(fb));
  });
});

// ---------- a small JSON-schema validator (the subset the fixture uses)

type Schema = {
  type?: string | string[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  format?: string;
};

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

export function validate(schema: Schema, v: unknown, path = "$"): string[] {
  const errs: string[] = [];
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(v);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return [`${path}: expected ${types.join("|")}, got ${t}`];
  }
  if (schema.const !== undefined && v !== schema.const) errs.push(`${path}: expected ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(v)) errs.push(`${path}: not one of ${JSON.stringify(schema.enum)}`);
  if (typeof v === "string") {
    if (schema.pattern && !new RegExp(schema.pattern).test(v)) errs.push(`${path}: does not match ${schema.pattern}`);
    if (schema.minLength !== undefined && v.length < schema.minLength) errs.push(`${path}: too short`);
    if (schema.format === "date-time" && (Number.isNaN(Date.parse(v)) || !/^\d{4}-\d\d-\d\dT/.test(v))) errs.push(`${path}: not a date-time`);
    if (schema.format === "ip" && isIP(v) === 0) errs.push(`${path}: not an IP address`);
  }
  if (typeof v === "number") {
    if (schema.minimum !== undefined && v < schema.minimum) errs.push(`${path}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && v > schema.maximum) errs.push(`${path}: above ${schema.maximum}`);
  }
  if (Array.isArray(v)) {
    if (schema.maxItems !== undefined && v.length > schema.maxItems) errs.push(`${path}: too many items`);
    if (schema.items) v.forEach((x, i) => errs.push(...validate(schema.items!, x, `${path}[${i}]`)));
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in o)) errs.push(`${path}.${k}: required`);
    for (const [k, x] of Object.entries(o)) {
      const p = schema.properties?.[k];
      if (p) errs.push(...validate(p, x, `${path}.${k}`));
      else if (schema.additionalProperties === false) errs.push(`${path}.${k}: not allowed`);
    }
  }
  return errs;
}

describe("X-ARF", () => {
  it("source and dropbox reports validate against the schema", () => {
    for (const r of [buildXarf(input()), buildXarf(input({ kind: "dropbox", dropbox: DROPBOX, otherSources: ["192.0.2.44"], attach: "message" }))]) {
      assert.deepEqual(validate(SCHEMA, JSON.parse(JSON.stringify(r))), []);
      const sample = Buffer.from(r.Report.Samples[0]!.Payload, "base64").toString("latin1");
      assert.ok(!sample.includes(VICTIM));
    }
    const d = buildXarf(input({ kind: "dropbox", dropbox: DROPBOX }));
    assert.equal(d.Report.ReportSubtype, "relay-test-dropbox");
    assert.equal(d.Report.Dropbox, DROPBOX);
    assert.equal(buildXarf(input()).Report.ReportSubtype, "relay-test-source");
  });

  it("the validator catches a broken report", () => {
    const r = JSON.parse(JSON.stringify(buildXarf(input()))) as { Report: Record<string, unknown> };
    r.Report.SourceIp = "not-an-ip";
    delete r.Report.Date;
    const errs = validate(SCHEMA, r);
    assert.ok(errs.some((e) => e.includes("SourceIp")) && errs.some((e) => e.includes("Date")), errs.join("\n"));
  });
});

describe("RDAP abuse contacts (local fixture server)", () => {
  let server: Server;
  let base = "";
  const hits: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? "");
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/rdap+json" });
        res.end(JSON.stringify(body));
      };
      const rdap = `${base}/rdap/`;
      if (req.url === "/bootstrap/ipv4.json") return json(200, { services: [[["203.0.0.0/8"], ["http://wrong.invalid/"]], [["203.0.113.0/24"], [rdap]]] });
      if (req.url === "/bootstrap/ipv6.json") return json(200, { services: [] });
      if (req.url === "/bootstrap/dns.json") return json(200, { services: [[["example"], [rdap]]] });
      if (req.url === "/rdap/ip/203.0.113.7")
        return json(200, {
          objectClassName: "ip network",
          entities: [
            {
              roles: ["registrant"],
              vcardArray: ["vcard", [["email", {}, "text", "noc@isp.example"]]],
              entities: [{ roles: ["abuse"], vcardArray: ["vcard", [["fn", {}, "text", "Abuse"], ["email", {}, "text", "Abuse@ISP.example"]]] }],
            },
          ],
        });
      if (req.url === "/rdap/domain/yahoo.example") return json(200, { objectClassName: "domain", entities: [{ roles: ["registrar"] }] });
      json(404, { errorCode: 404 });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("finds the abuse role in nested entities, longest prefix wins, bootstrap files are cached", async () => {
    const cacheDir = tempDir();
    try {
      const opts = { bootstrapUrl: `${base}/bootstrap/`, cacheDir, cacheMaxAgeMs: 3_600_000, timeoutMs: 5000 };
      const c = await createRdap(opts).abuseForIp("203.0.113.7");
      assert.deepEqual(c, { target: "203.0.113.7", emails: ["abuse@isp.example"], source: "rdap", url: `${base}/rdap/ip/203.0.113.7` });
      assert.ok(existsSync(join(cacheDir, "rdap-bootstrap-ipv4.json")));
      const before = hits.filter((h) => h.startsWith("/bootstrap/")).length;
      await createRdap(opts).abuseForIp("203.0.113.7");
      assert.equal(hits.filter((h) => h.startsWith("/bootstrap/")).length, before, "second lookup reads the cached bootstrap file");
      const d = await createRdap(opts).abuseForDomain("mx.yahoo.example");
      assert.equal(d.source, "fallback");
      assert.deepEqual(d.emails, ["abuse@yahoo.example"]);
      const none = await createRdap(opts).abuseForIp("192.0.2.1");
      assert.equal(none.source, "none");
      assert.deepEqual(abuseEmails({ entities: "junk" }), []);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

describe("feeds", () => {
  const data = {
    generatedAt: Date.UTC(2026, 0, 3),
    sightings: [
      { day: "2026-01-01", srcIp: "203.0.113.7", dropbox: DROPBOX, tests: 3, firstSeen: Date.UTC(2026, 0, 1, 1), lastSeen: Date.UTC(2026, 0, 1, 5) },
      { day: "2026-01-01", srcIp: "192.0.2.44", dropbox: DROPBOX, tests: 1, firstSeen: Date.UTC(2026, 0, 1, 2), lastSeen: Date.UTC(2026, 0, 1, 2) },
      { day: "2026-01-02", srcIp: "203.0.113.7", dropbox: null, tests: 1, firstSeen: Date.UTC(2026, 0, 2, 1), lastSeen: Date.UTC(2026, 0, 2, 1) },
    ],
  };

  it("writes a MISP feed directory with stable UUIDs, and redacts dropbox local parts when asked", () => {
    const dir = tempDir();
    try {
      const r = writeMispFeed(dir, data, { redactDropboxLocalParts: false, orgName: "test-org", includePrivate: true });
      assert.deepEqual(r, { events: 2, attributes: 4 });
      const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Record<string, { date: string; info: string }>;
      const files = readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "manifest.json");
      assert.deepEqual(files.map((f) => f.replace(/\.json$/, "")).sort(), Object.keys(manifest).sort());
      const ev = JSON.parse(readFileSync(join(dir, files[0]!), "utf8")) as { Event: { Attribute: Array<{ type: string; value: string }>; Orgc: { name: string } } };
      assert.equal(ev.Event.Orgc.name, "test-org");
      const hashes = readFileSync(join(dir, "hashes.csv"), "utf8").trim().split("\n");
      assert.equal(hashes.length, 4);
      assert.ok(hashes.every((l) => /^[0-9a-f]{32},[0-9a-f-]{36}$/.test(l)));
      const again = mispEvents(data, { redactDropboxLocalParts: false, orgName: "test-org", includePrivate: true });
      assert.deepEqual(again.map((e) => e.Event.uuid).sort(), Object.keys(manifest).sort(), "UUIDs are stable across exports");
      const day1 = again.find((e) => e.Event.date === "2026-01-01")!;
      assert.deepEqual(day1.Event.Attribute.map((a) => `${a.type}:${a.value}`).sort(), ["email-dst:" + DROPBOX, "ip-src:192.0.2.44", "ip-src:203.0.113.7"]);
      const red = mispEvents(data, { redactDropboxLocalParts: true, orgName: "test-org", includePrivate: true });
      assert.ok(!JSON.stringify(red).includes("collector77"));
      assert.ok(red[0]!.Event.Attribute.some((a) => a.type === "domain" && a.value === "yahoo.example"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("CSV neutralises spreadsheet formulas and quotes", () => {
    const csv = toCsv({ generatedAt: 0, sightings: [{ ...data.sightings[0]!, dropbox: '=cmd|"x"@evil.example' }] }, { redactDropboxLocalParts: false, orgName: "o", includePrivate: true });
    assert.ok(csv.includes(`"'=cmd|""x""@evil.example"`), csv);
  });

  it("leaves out loopback, private, link-local and documentation sources unless asked (issue 17 item 9)", () => {
    const at = Date.UTC(2026, 0, 1);
    const sighting = (srcIp: string) => ({ day: "2026-01-01", srcIp, dropbox: DROPBOX, tests: 1, firstSeen: at, lastSeen: at });
    const mixed = { generatedAt: at, sightings: ["127.0.0.1", "10.1.2.3", "169.254.1.1", "192.0.2.44", "::1", "fe80::1", "::ffff:192.168.1.1", "8.8.8.8"].map(sighting) };
    const ips = (o: { includePrivate?: boolean }) =>
      mispEvents(mixed, { redactDropboxLocalParts: false, orgName: "o", ...o })
        .flatMap((e) => e.Event.Attribute)
        .filter((a) => a.type === "ip-src")
        .map((a) => a.value);
    assert.deepEqual(ips({}), ["8.8.8.8"]);
    assert.equal(ips({ includePrivate: true }).length, 8);
    assert.ok(!toCsv(mixed, { redactDropboxLocalParts: false, orgName: "o" }).includes("127.0.0.1"));
  });
});

describe("report and feed CLI on a sensor's store", () => {
  let s: TestSensor;
  before(async () => {
    s = await startSensor({ sensorIps: ["127.0.0.1"] });
    const c = await SmtpClient.connect(s.port);
    await c.reply();
    await c.startData({ greet: "EHLO tester.spammer.example", from: "paulette@spammer.example", to: DROPBOX });
    await c.sendData(["From: paulette <paulette@spammer.example>", `To: ${DROPBOX}`, "Subject: 127.0.0.1@pauletteOpen Relay", "", "127.0.0.1@pauletteOpen Relay", ""].join("\r\n"));
    // a likely (not certain) relay test: an MX check naming only a host. Never reported as a test nor in a feed.
    await c.startData({ greet: null, from: "mx@spammer.example", to: "likely@dropbox.example" });
    await c.sendData(["From: mx@spammer.example", "To: likely@dropbox.example", "Subject: MX check mx.trap.example", "", ""].join("\r\n"));
    await c.quit();
    await s.waitEvent("smtp.message.stored", (e) => e.message === 2);
    assert.equal(s.sensor.reader.getMessage(2)!.confidence, "likely");
  });
  after(() => s.close());

  it("a relay test that is only likely is no dropbox report and no feed entry (issue 15)", async () => {
    const r = await runCli(["report", "--include-private", "--data-dir", s.dataDir, "--message", "2", "--format", "xarf", "--kind", "dropbox"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not a certain relay test/);
    const j = await runCli(["feed", "json", "--include-private", "--data-dir", s.dataDir]);
    assert.ok(!j.stdout.includes("likely@dropbox.example"), j.stdout);
  });

  it("prints an ARF report, an X-ARF report and a dropbox report for a stored relay test", async () => {
    const arf = await runCli(["report", "--include-private", "--data-dir", s.dataDir, "--message", "1", "--format", "arf", "--to", "abuse@isp.example"]);
    assert.equal(arf.code, 0, arf.stderr);
    const mail = await simpleParser(Buffer.from(arf.stdout, "latin1"));
    const f = fields(mail.attachments.find((a) => a.contentType === "message/feedback-report")!.content.toString("utf8"));
    assert.deepEqual(f.get("source-ip"), ["127.0.0.1"]);
    assert.equal(f.get("source-port")!.length, 1);
    const xarf = await runCli(["report", "--include-private", "--data-dir", s.dataDir, "--message", "1", "--format", "xarf", "--kind", "dropbox"]);
    assert.equal(xarf.code, 0, xarf.stderr);
    const x = JSON.parse(xarf.stdout) as unknown;
    assert.deepEqual(validate(SCHEMA, x), []);
    assert.equal((x as { Report: { Dropbox: string } }).Report.Dropbox, DROPBOX);
    const missing = await runCli(["report", "--data-dir", s.dataDir, "--message", "99", "--format", "arf"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no message 99/);
  });

  it("a local test from 127.0.0.1 is no feed entry and no report unless --include-private (issue 17 item 9)", async () => {
    const j = await runCli(["feed", "json", "--data-dir", s.dataDir]);
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual((JSON.parse(j.stdout) as { sources: unknown[] }).sources, []);
    const r = await runCli(["report", "--data-dir", s.dataDir, "--message", "1", "--format", "arf", "--to", "abuse@isp.example"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /from 127\.0\.0\.1, which is loopback.*--include-private/);
  });

  it("exports a MISP feed and JSON", async () => {
    const out = join(tempDir(), "misp");
    try {
      const r = await runCli(["feed", "misp", "--include-private", "--data-dir", s.dataDir, "--out", out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /1 MISP events, 2 attributes/);
      assert.ok(existsSync(join(out, "manifest.json")) && existsSync(join(out, "hashes.csv")));
      const j = await runCli(["feed", "json", "--include-private", "--data-dir", s.dataDir]);
      const body = JSON.parse(j.stdout) as { sources: Array<{ ip: string }>; dropboxes: Array<{ address: string }> };
      assert.deepEqual(body.sources.map((x) => x.ip), ["127.0.0.1"]);
      assert.deepEqual(body.dropboxes.map((x) => x.address), [DROPBOX]);
    } finally {
      rmSync(join(out, ".."), { recursive: true, force: true });
    }
  });
});
