// The counters of migration 009 (store_totals, source_rows, message_dropboxes, verdict_dropboxes) against direct
// queries over the tables, through the real writer: mixed kinds, replaced sessions, reclassification, pruning by age and
// by storage pressure; and the backfill of a store that predates the migration.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../../../test/helpers/sensor.js";
import type { Verdict } from "../../analysis/types.js";
import type { NewMessage, SessionRecord, StoredKind, StoreReader, StoreWriter } from "../types.js";
import { DB_FILE, loadMigrations, migrate, type Db } from "./db.js";
import Database from "./driver.js";
import { openSqliteReader } from "./reader.js";
import { derivedDropboxes, searchMessages, totals } from "./web.js";
import { openSqliteWriter } from "./writer.js";

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const IPS = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::7", "198.51.100.9"];
/** Mixed case and a duplicate inside one verdict: the counts must match json_each row for row, as before. */
const DROPBOX_LISTS = [["Box1@Example.com"], ["box1@example.com", "box2@example.com"], ["box3@example.com", "BOX3@example.com"], []];
const KINDS: StoredKind[] = ["relay-test", "spam", "relay-test", "other", "spam", "unknown"];

function verdictOf(kind: StoredKind, i: number): Verdict | null {
  if (kind === "unknown") return null;
  const dropboxes = kind === "relay-test" ? DROPBOX_LISTS[i % DROPBOX_LISTS.length]! : i % 7 === 0 ? ["box1@example.com"] : [];
  return { kind: kind as Verdict["kind"], testedIps: [], matchesSensor: kind === "relay-test", dropboxes, score: 0, evidence: [] };
}

function message(i: number): NewMessage {
  const kind = KINDS[i % KINDS.length]!;
  return {
    queueId: `Q${i}`,
    sessionId: `s${i}`,
    receivedAt: T0 + i * HOUR,
    srcIp: IPS[(i * 7) % IPS.length]!,
    srcPort: 1000 + i,
    destIp: "198.51.100.1",
    destPort: 25,
    channel: "direct",
    helo: "h",
    mailFrom: "a@b.example",
    rcptTo: ["c@d.example"],
    subject: `m${i}`,
    fromHeader: null,
    toHeader: null,
    dateHeader: null,
    date: null,
    messageIdHeader: null,
    size: 100 + i,
    sha256: String(i).padStart(64, "0"),
    raw: null,
    dropReason: null,
    kind,
    verdict: verdictOf(kind, i),
    parseError: null,
    attachments: [],
    headers: [],
    textBody: null,
    hasHtml: false,
  };
}

function session(id: string, i: number, srcIp: string): SessionRecord {
  return {
    id,
    protocol: "smtp",
    channel: "direct",
    startedAt: T0 + i * HOUR - 1000,
    endedAt: T0 + i * HOUR,
    srcIp,
    srcPort: 2000 + i,
    destIp: "198.51.100.1",
    destPort: 25,
    target: null,
    helo: null,
    rdns: null,
    tls: null,
    auth: [],
    transcript: [],
    transcriptTruncated: false,
    commands: 3,
    messages: 1,
    closeReason: "quit",
  };
}

/** The all-time totals as the web API computed them before migration 009: a scan of both tables. */
function countedTotals(r: StoreReader): unknown {
  const m = r.get<Record<string, number>>(
    `SELECT COUNT(*) AS messages, COALESCE(SUM(kind = 'relay-test'), 0) AS relayTests, COALESCE(SUM(kind = 'spam'), 0) AS spam,
       COALESCE(SUM(kind = 'other'), 0) AS other, COALESCE(SUM(size), 0) AS bytes FROM messages`,
  )!;
  const sessions = r.get<{ n: number }>("SELECT COUNT(*) AS n FROM sessions")!.n;
  const sources = r.get<{ n: number }>("SELECT COUNT(*) AS n FROM (SELECT src_ip FROM sessions UNION SELECT src_ip FROM messages)")!.n;
  return { sessions, ...m, sources };
}

/** A verdict that is not valid JSON names no dropbox (before migration 009, json_each failed the whole query on it). */
const VERDICT = "CASE WHEN json_valid(m.verdict) THEN m.verdict END";

/** Dropboxes from the relay-test verdicts by json_each, as derivedDropboxes read them before migration 009. */
function countedDropboxes(r: StoreReader): unknown[] {
  return r.all(
    `SELECT lower(d.value) AS address, COUNT(*) AS tests, COUNT(DISTINCT m.src_ip) AS sources
     FROM messages m, json_each(${VERDICT}, '$.dropboxes') d WHERE m.kind = 'relay-test' AND m.verdict IS NOT NULL
     GROUP BY lower(d.value) ORDER BY tests DESC, address`,
  );
}

/** Messages whose verdict names the dropbox, newest first, by json_each (the filter before migration 009). */
function countedDropboxMessages(r: StoreReader, address: string, kind?: string): number[] {
  return r
    .all<{ id: number }>(
      `SELECT id FROM messages m WHERE (? IS NULL OR kind = ?)
         AND EXISTS (SELECT 1 FROM json_each(${VERDICT}, '$.dropboxes') d WHERE lower(d.value) = lower(?)) ORDER BY id DESC`,
      kind ?? null,
      kind ?? null,
      address,
    )
    .map((x) => x.id);
}

function assertCountersMatch(r: StoreReader, when: string): void {
  assert.deepEqual(totals(r), countedTotals(r), `totals ${when}`);
  const boxes = derivedDropboxes(r, 100).map(({ address, tests, sources }) => ({ address, tests, sources }));
  assert.deepEqual(boxes, countedDropboxes(r), `dropboxes ${when}`);
  for (const address of ["box1@example.com", "BOX1@example.COM", "box2@example.com", "box3@example.com", "none@example.com"]) {
    for (const kind of [undefined, "relay-test", "spam"] as const) {
      const ids = searchMessages(r, { dropbox: address, kind, limit: 500 }).map((m) => m.id);
      assert.deepEqual(ids, countedDropboxMessages(r, address, kind), `dropbox filter ${address} ${kind ?? ""} ${when}`);
    }
  }
}

describe("store totals (migration 009)", () => {
  let dir: string;
  let writer: StoreWriter;
  let reader: StoreReader;
  const N = 240;
  before(async () => {
    dir = tempDir();
    writer = await openSqliteWriter(dir);
    reader = openSqliteReader(dir);
  });
  after(async () => {
    reader.close();
    await writer.close();
  });

  it("counts mixed kinds, sessions without messages and replaced sessions like a COUNT does", async () => {
    assert.deepEqual(totals(reader), { sessions: 0, messages: 0, relayTests: 0, spam: 0, other: 0, bytes: 0, sources: 0 });
    await Promise.all(Array.from({ length: N }, (_, i) => writer.putMessage(message(i))));
    await Promise.all(Array.from({ length: N }, (_, i) => writer.putSession(session(`s${i}`, i, IPS[(i * 7) % IPS.length]!))));
    // scanners: sessions only, from an address that sends nothing
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.putSession(session(`scan${i}`, i * 20, "203.0.113.50"))));
    // the writer's INSERT OR REPLACE: the same session again, once from another address
    await writer.putSession(session("s3", 3, "203.0.113.77"));
    await writer.putSession(session("scan0", 0, "203.0.113.50"));
    const t = totals(reader);
    assert.equal(t.messages, N);
    assert.equal(t.sessions, N + 10);
    assert.equal(t.sources, IPS.length + 2);
    assert.ok(t.relayTests > 0 && t.spam > 0 && t.other > 0 && t.relayTests + t.spam + t.other < N, "unknown kinds counted in messages only");
    assertCountersMatch(reader, "after inserts");
  });

  it("follows reclassification (reanalyze) and other updates", async () => {
    const spamNow: Verdict = { kind: "spam", testedIps: [], matchesSensor: false, dropboxes: [], score: 0, evidence: [] };
    const relayNow: Verdict = { kind: "relay-test", testedIps: [], matchesSensor: true, dropboxes: ["box4@example.com", "Box2@example.com"], score: 100, evidence: [] };
    await writer.exec([
      { sql: "UPDATE messages SET kind = 'spam', verdict = ? WHERE id % 12 = 1", params: [JSON.stringify(spamNow)] },
      { sql: "UPDATE messages SET kind = 'relay-test', verdict = ? WHERE id % 12 = 2", params: [JSON.stringify(relayNow)] },
      // kind alone (verdict kept): dropboxes of the old verdict now count as relay tests
      { sql: "UPDATE messages SET kind = 'relay-test' WHERE kind = 'spam' AND id % 7 = 1", params: [] },
      { sql: "UPDATE messages SET size = size * 2, src_ip = '192.0.2.200' WHERE id % 10 = 0", params: [] },
      { sql: "UPDATE messages SET verdict = 'not json' WHERE id = 3", params: [] },
      { sql: "UPDATE sessions SET src_ip = '192.0.2.201' WHERE id = 'scan5'", params: [] },
      // unchanged values: the update trigger must not double-count
      { sql: "UPDATE messages SET kind = kind, verdict = verdict WHERE id % 5 = 0", params: [] },
    ]);
    assertCountersMatch(reader, "after updates");
  });

  it("follows pruning by age and by storage pressure", async () => {
    const r = await writer.prune({ olderThan: T0 + (N / 3) * HOUR, quotaBytes: 1e12 });
    assert.ok(r.deletedMessages > 0 && r.deletedSessions > 0);
    assertCountersMatch(reader, "after the age limit");
    // no bodies are stored, so freeing pages deletes the oldest message and session rows
    const f = await writer.prune({ olderThan: null, quotaBytes: 1e12, freeBytes: 4096 });
    assert.ok(f.deletedMessages > 0);
    assertCountersMatch(reader, "after freeing space");
    await writer.prune({ olderThan: T0 + 10 * N * HOUR, quotaBytes: 1e12 });
    assert.deepEqual(totals(reader), { sessions: 0, messages: 0, relayTests: 0, spam: 0, other: 0, bytes: 0, sources: 0 });
    assertCountersMatch(reader, "when empty");
    assert.equal(reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM source_rows")!.n, 0);
    assert.equal(reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM message_dropboxes")!.n, 0);
    assert.equal(reader.get<{ n: number }>("SELECT COUNT(*) AS n FROM verdict_dropbox_sources")!.n, 0);
  });
});

describe("store totals backfill", () => {
  it("fills the counters from the rows of a store that predates migration 009, then keeps them", () => {
    const dir = tempDir();
    const db: Db = new Database(join(dir, DB_FILE));
    const all = loadMigrations();
    const at = all.findIndex((m) => m.name.startsWith("009_"));
    assert.ok(at > 0);
    migrate(db, all.slice(0, at));
    const insert = db.prepare(`INSERT INTO messages (queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, rcpt_to,
      rcpt_count, size, sha256, body_stored, kind, verdict) VALUES (?, ?, ?, ?, 1, 'd', 25, '[]', 0, ?, 'x', 0, ?, ?)`);
    const insertSession = db.prepare(
      "INSERT INTO sessions (id, protocol, started_at, src_ip, src_port, dest_ip, dest_port) VALUES (?, 'smtp', ?, ?, 1, 'd', 25)",
    );
    const put = (i: number) => {
      const m = message(i);
      insert.run(m.queueId, m.sessionId, m.receivedAt, m.srcIp, m.size, m.kind, m.verdict ? JSON.stringify(m.verdict) : null);
      insertSession.run(`s${i}`, m.receivedAt, i % 9 === 0 ? "203.0.113.9" : m.srcIp);
    };
    db.transaction(() => {
      for (let i = 0; i < 100; i++) put(i);
    })();
    migrate(db, all);
    const q = openSqliteReader(dir);
    try {
      assertCountersMatch(q, "after the backfill");
      db.transaction(() => {
        for (let i = 100; i < 150; i++) put(i);
      })();
      db.prepare("DELETE FROM messages WHERE id % 3 = 0").run();
      assertCountersMatch(q, "after inserts and deletes on the migrated store");
    } finally {
      q.close();
      db.close();
    }
  });
});
