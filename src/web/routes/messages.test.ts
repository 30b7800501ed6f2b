// Message, session and source endpoints against a real sensor fed over SMTP: search, filters, cursor, validation,
// detail, raw, sanitized HTML, attachments, session transcript, source timeline.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSensor, type TestSensor } from "../../../test/helpers/sensor.js";
import { http, RELAY_TEST, sendMail, startSeededSensor, waitSessions, webPort } from "../../../test/helpers/web.js";
import { seedHistory } from "../demo.js";

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
    assert.equal(typeof p1.next, "string");
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

describe("web API: message lists read like an analyst's table (issue 17 item 2)", () => {
  let u: TestSensor;
  let uport: number;
  type Row = { id: number; receivedAt: number; size: number; srcIp: string; kind: string; dropboxCount?: number; testedIps?: string[]; matchesSensor?: boolean | null };
  const ids = (b: { items: Row[] }) => b.items.map((m) => m.id);

  before(async () => {
    u = await startSensor();
    uport = webPort(u);
    await sendMail(u, "tester@dropbox.example", ["dropbox@dropbox.example"], RELAY_TEST("127.0.0.1"));
    await waitSessions(u, 1);
    // Back-dated history stored after the live mail: higher ids, older received times (an import, the demo).
    await seedHistory(u.sensor.writer, { days: 20, perDay: 4, seed: 3, now: Date.now() - 5 * 365 * 86_400_000 });
  });
  after(async () => u.close());

  async function walk(qs: string, limit: number): Promise<Row[]> {
    const rows: Row[] = [];
    let next: string | null = null;
    do {
      const r = await http(uport, `/api/v1/messages?${qs}&limit=${limit}${next ? `&before=${encodeURIComponent(next)}` : ""}`);
      assert.equal(r.status, 200, r.body);
      const b = r.json();
      rows.push(...b.items);
      next = b.next;
    } while (next !== null);
    return rows;
  }

  test("ordered by received time (then id), not by id; the cursor follows that order", async () => {
    const stored = u.sensor.reader.all<{ id: number }>("SELECT id FROM messages ORDER BY received_at DESC, id DESC").map((r) => r.id);
    assert.ok(stored.length > 20);
    const first = (await http(uport, "/api/v1/messages?limit=5")).json();
    assert.deepEqual(ids(first), stored.slice(0, 5));
    assert.notDeepEqual(stored, [...stored].sort((a, b) => b - a), "the fixture has ids out of received order");
    assert.deepEqual((await walk("order=desc", 7)).map((r) => r.id), stored);
    assert.deepEqual((await walk("order=asc", 9)).map((r) => r.id), [...stored].reverse());
  });

  test("sortable by size and source, every page continuing the sort", async () => {
    const bySize = await walk("sort=size&order=desc", 6);
    assert.deepEqual(bySize.map((r) => r.id), u.sensor.reader.all<{ id: number }>("SELECT id FROM messages ORDER BY size DESC, id DESC").map((r) => r.id));
    const bySource = await walk("sort=source&order=asc", 8);
    assert.deepEqual(
      bySource.map((r) => r.id),
      u.sensor.reader.all<{ id: number }>("SELECT id FROM messages ORDER BY src_ip, received_at, id").map((r) => r.id),
    );
    // A cursor of another sort, or garbage, is a 400 naming the parameter.
    const p = (await http(uport, "/api/v1/messages?sort=size&limit=1")).json();
    for (const before of [p.next, "garbage", "12"]) {
      const r = await http(uport, `/api/v1/messages?sort=source&before=${encodeURIComponent(before)}`);
      assert.equal(r.status, 400, before);
      assert.match(r.json().error, /before/);
    }
    assert.equal((await http(uport, "/api/v1/messages?sort=subject")).status, 400);
  });

  test("a total for every filter, equal to a COUNT over the rows", async () => {
    const count = (where: string, ...p: unknown[]) => u.sensor.reader.get<{ n: number }>(`SELECT COUNT(*) AS n FROM messages ${where}`, ...p)!.n;
    const cases: Array<[string, number]> = [
      ["", count("")],
      ["kind=relay-test", count("WHERE kind = 'relay-test'")],
      ["kind=spam", count("WHERE kind = 'spam'")],
      ["src_ip=127.0.0.1", count("WHERE src_ip = '127.0.0.1'")],
      [`since=${Date.now() - 86_400_000}`, count("WHERE received_at >= ?", Date.now() - 86_400_000)],
      ["kind=relay-test&channel=direct", count("WHERE kind = 'relay-test' AND channel = 'direct'")],
    ];
    for (const [qs, n] of cases) {
      const b = (await http(uport, `/api/v1/messages?limit=2&${qs}`)).json();
      assert.equal(b.total, n, qs);
      assert.equal(b.totalCapped, false, qs);
    }
  });

  test("relay-test rows carry tested IPs, matches-sensor, tester, score and the number of dropboxes", async () => {
    const b = (await http(uport, "/api/v1/messages?kind=relay-test&limit=500")).json();
    const live = b.items.find((m: Row) => m.srcIp === "127.0.0.1");
    assert.ok(live);
    assert.deepEqual(live.testedIps, ["127.0.0.1"]);
    assert.equal(live.dropboxCount, 1);
    assert.equal(typeof live.matchesSensor, "boolean");
    assert.equal(typeof live.score, "number");
    for (const m of b.items) assert.equal(typeof m.dropboxCount, "number");
  });
});
