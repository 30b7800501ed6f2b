// Message, session and source endpoints against a real sensor fed over SMTP: search, filters, cursor, validation,
// detail, raw, sanitized HTML, attachments, session transcript, source timeline.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { TestSensor } from "../../../test/helpers/sensor.js";
import { http, startSeededSensor } from "../../../test/helpers/web.js";

// One sensor for the file, holding a relay test and a spam message (each its own session).
let t: TestSensor;
let port: number;
let relayId: number;
let spamId: number;

before(async () => {
  ({ t, port, relayId, spamId } = await startSeededSensor());
});
after(async () => t.close());

describe("web API: messages", () => {
  test("messages: list, filters, full-text search, cursor", async () => {
    const all = (await http(port, "/api/v1/messages")).json();
    assert.deepEqual(
      all.items.map((m: { id: number }) => m.id),
      [spamId, relayId],
    );
    assert.equal(all.next, null);
    const first = all.items[1];
    for (const k of ["id", "receivedAt", "srcIp", "mailFrom", "rcptTo", "subject", "kind", "size"]) assert.ok(k in first, k);
    assert.equal(first.kind, "relay-test");

    const relay = (await http(port, "/api/v1/messages?kind=relay-test")).json();
    assert.deepEqual(relay.items.map((m: { id: number }) => m.id), [relayId]);
    assert.equal((await http(port, "/api/v1/messages?src_ip=127.0.0.1")).json().items.length, 2);
    assert.equal((await http(port, "/api/v1/messages?src_ip=192.0.2.1")).json().items.length, 0);
    // q searches subject, addresses and text body (FTS5).
    assert.deepEqual((await http(port, "/api/v1/messages?q=zyxwv")).json().items.map((m: { id: number }) => m.id), [spamId]);
    assert.deepEqual((await http(port, "/api/v1/messages?q=quokkapills")).json().items.map((m: { id: number }) => m.id), [spamId]);
    assert.deepEqual((await http(port, "/api/v1/messages?q=" + encodeURIComponent("victim@example.com"))).json().items.map((m: { id: number }) => m.id), [spamId]);
    assert.deepEqual((await http(port, "/api/v1/messages?q=" + encodeURIComponent('"); DROP TABLE x; --'))).json().items, []);
    assert.deepEqual((await http(port, "/api/v1/messages?dropbox=dropbox@dropbox.example")).json().items.map((m: { id: number }) => m.id), [relayId]);
    const now = Date.now();
    assert.equal((await http(port, `/api/v1/messages?since=${now + 60_000}`)).json().items.length, 0);
    assert.equal((await http(port, `/api/v1/messages?until=${new Date(now + 60_000).toISOString()}`)).json().items.length, 2);
    // Cursor pagination.
    const p1 = (await http(port, "/api/v1/messages?limit=1")).json();
    assert.equal(p1.items.length, 1);
    assert.equal(p1.next, String(spamId));
    const p2 = (await http(port, `/api/v1/messages?limit=1&before=${p1.next}`)).json();
    assert.deepEqual(p2.items.map((m: { id: number }) => m.id), [relayId]);
  });

  test("messages: every bad query parameter is a 400 JSON error", async () => {
    for (const qs of ["kind=bogus", "limit=0", "limit=100000", "limit=abc", "since=yesterday-ish", "src_ip=not-an-ip", "before=-3", "nope=1", "kind=spam&kind=other", "q=" + "x".repeat(600)]) {
      const r = await http(port, "/api/v1/messages?" + qs);
      assert.equal(r.status, 400, qs);
      assert.match(r.headers["content-type"] as string, /^application\/json/);
      assert.equal(typeof r.json().error, "string", qs);
    }
    assert.equal((await http(port, "/api/v1/messages/99999")).status, 404);
    assert.equal((await http(port, "/api/v1/messages/abc")).status, 404);
    assert.equal((await http(port, "/api/v1/nothing")).status, 404);
    assert.equal((await http(port, "/api/v1/messages", { method: "DELETE" })).status, 405);
    assert.equal((await http(port, "/api/v1/sources/%E0%A4%A")).status, 400);
  });

  test("message detail: envelope, headers, verdict with evidence, session", async () => {
    const m = (await http(port, `/api/v1/messages/${relayId}`)).json();
    assert.equal(m.kind, "relay-test");
    assert.equal(m.mailFrom, "tester@dropbox.example");
    assert.deepEqual(m.rcptTo, ["dropbox@dropbox.example"]);
    assert.ok(m.headers.some((h: { key: string }) => h.key === "subject"));
    assert.ok(m.verdict.evidence.length > 0);
    assert.deepEqual(m.verdict.testedIps, ["127.0.0.1"]);
    assert.equal(m.session.id, m.sessionId);
    assert.match(m.textBody, /relay test/);
    assert.equal(m.hasHtml, false);
    const s = (await http(port, `/api/v1/messages/${spamId}`)).json();
    assert.equal(s.hasHtml, true);
    assert.equal(s.attachments.length, 1);
    assert.equal(s.attachments[0].filename, "list.txt");
  });

  test("message detail: hasHtml is the flag stored at analysis; the raw is parsed only for a row stored without one", async () => {
    const flag = (id: number) => t.sensor.reader.get<{ has_html: number | null }>("SELECT has_html FROM messages WHERE id = ?", id)!.has_html;
    const setFlag = (id: number, v: 0 | 1 | null) => t.sensor.writer.exec([{ sql: "UPDATE messages SET has_html = ? WHERE id = ?", params: [v, id] }]);
    assert.equal(flag(relayId), 0);
    assert.equal(flag(spamId), 1);
    try {
      // The relay test's raw has no HTML part: a page that parsed it would say false.
      await setFlag(relayId, 1);
      assert.equal((await http(port, `/api/v1/messages/${relayId}`)).json().hasHtml, true);
      // NULL: stored before the flag existed, so the page parses the raw as it always did.
      await setFlag(spamId, null);
      assert.equal((await http(port, `/api/v1/messages/${spamId}`)).json().hasHtml, true);
      await setFlag(relayId, null);
      assert.equal((await http(port, `/api/v1/messages/${relayId}`)).json().hasHtml, false);
    } finally {
      await setFlag(relayId, 0);
      await setFlag(spamId, 1);
    }
  });

  test("raw: text/plain, nosniff, inline", async () => {
    const r = await http(port, `/api/v1/messages/${spamId}/raw`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.equal(r.headers["content-disposition"], "inline");
    assert.match(r.body, /<script>alert\(1\)<\/script>/);
  });

  test("html: sanitized, strict CSP", async () => {
    const r = await http(port, `/api/v1/messages/${spamId}/html`);
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"] as string, /^text\/html/);
    const csp = r.headers["content-security-policy"] as string;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /img-src data:/);
    assert.match(csp, /sandbox/);
    assert.match(r.body, /<b>now<\/b>/);
    assert.doesNotMatch(r.body, /script|onclick|203\.0\.113\.9\/t\.gif"/i);
    assert.equal((await http(port, `/api/v1/messages/${relayId}/html`)).status, 404);
  });

  test("attachments download as octet-stream", async () => {
    const r = await http(port, `/api/v1/messages/${spamId}/attachments/0`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-type"], "application/octet-stream");
    assert.match(r.headers["content-disposition"] as string, /^attachment; filename="list.txt"/);
    assert.equal(r.body, "attachment payload\n");
    assert.equal((await http(port, `/api/v1/messages/${spamId}/attachments/5`)).status, 404);
  });

});

describe("web API: sessions and sources", () => {
  test("session with transcript", async () => {
    const m = (await http(port, `/api/v1/messages/${relayId}`)).json();
    const s = (await http(port, `/api/v1/sessions/${m.sessionId}`)).json();
    assert.equal(s.id, m.sessionId);
    assert.ok(s.transcript.some((l: { dir: string; line: string }) => l.dir === "c" && l.line.startsWith("MAIL FROM")));
    assert.ok(s.transcript.every((l: { dir: string; t: number }) => (l.dir === "c" || l.dir === "s") && typeof l.t === "number"));
    assert.deepEqual(s.messageList.map((x: { id: number }) => x.id), [relayId]);
    assert.equal((await http(port, "/api/v1/sessions/nosuchsession")).status, 404);
  });

  test("source timeline", async () => {
    const s = (await http(port, "/api/v1/sources/127.0.0.1")).json();
    assert.equal(s.ip, "127.0.0.1");
    assert.equal(s.sessionCount, 2);
    assert.equal(s.messageCount, 2);
    assert.equal(s.relayTestCount, 1);
    assert.ok(s.firstSeen <= s.lastSeen);
    assert.equal((await http(port, "/api/v1/sources/192.0.2.99")).status, 404);
    assert.equal((await http(port, "/api/v1/sources/bogus")).status, 400);
  });
});
