// The SQLite store: durable writes through the writer thread, reads alongside it, quota and age pruning, the has_html
// flag of rows stored before and after it existed.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { tempDir } from "../../../test/helpers/sensor.js";
import type { Verdict } from "../../analysis/types.js";
import type { NewMessage, StoreReader, StoreWriter } from "../types.js";
import { DB_FILE, loadMigrations, migrate } from "./db.js";
import Database from "./driver.js";
import { openSqliteReader } from "./reader.js";
import { reanalyzeStore } from "./reanalyze.js";
import { openSqliteWriter } from "./writer.js";

function msg(n: number, receivedAt: number, size = 100): NewMessage {
  return {
    queueId: `Q${n}`,
    sessionId: "s1",
    receivedAt,
    srcIp: "192.0.2.1",
    srcPort: 1000 + n,
    destIp: "198.51.100.1",
    destPort: 25,
    channel: "direct",
    helo: "h",
    mailFrom: "a@b.example",
    rcptTo: ["c@d.example"],
    subject: `m${n}`,
    fromHeader: null,
    toHeader: null,
    dateHeader: null,
    date: null,
    messageIdHeader: null,
    size,
    sha256: String(n).padStart(64, "0"),
    raw: Buffer.alloc(size, n % 256),
    dropReason: null,
    kind: "spam",
    verdict: null,
    parseError: null,
    attachments: [],
    headers: [{ key: "subject", value: `m${n}` }],
    textBody: null,
    hasHtml: n % 2 === 1,
  };
}

describe("sqlite store", () => {
  let dir: string;
  let writer: StoreWriter;
  let reader: StoreReader;
  before(async () => {
    dir = tempDir();
    writer = await openSqliteWriter(dir);
    reader = openSqliteReader(dir);
  });
  after(async () => {
    reader.close();
    await writer.close();
  });

  it("writes concurrently submitted messages (one group commit) and reads them back", async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => writer.putMessage(msg(i, 1000 + i))));
    assert.equal(new Set(ids).size, 50);
    assert.equal(reader.countMessages(), 50);
    const m = reader.getMessage(ids[7]!)!;
    assert.equal(m.subject, "m7");
    assert.deepEqual(m.headers, [{ key: "subject", value: "m7" }]);
    assert.equal(m.hasHtml, true);
    assert.equal(reader.getMessage(ids[8]!)!.hasHtml, false);
    assert.deepEqual(reader.getRaw(ids[7]!), Buffer.alloc(100, 7));
    assert.equal(writer.rawBytes(), 5000);
    assert.deepEqual(reader.listMessages({ limit: 3 }).map((r) => r.subject), ["m49", "m48", "m47"]);
    assert.deepEqual([...reader.iterateMessages({ since: 1045 })].map((r) => r.subject), ["m45", "m46", "m47", "m48", "m49"]);
    assert.deepEqual(reader.sourceCounts(1040), [{ srcIp: "192.0.2.1", messages: 10, bytes: 1000 }]);
  });

  it("prunes the oldest bodies over quota and whole rows over age", async () => {
    const q = await writer.prune({ olderThan: null, quotaBytes: 2000 });
    assert.equal(q.prunedBodies, 30);
    assert.equal(writer.rawBytes(), 2000);
    const first = reader.listMessages({ limit: 1000 }).at(-1)!;
    assert.equal(first.bodyStored, false);
    assert.equal(first.dropReason, "quota");
    assert.equal(reader.getRaw(first.id), null);
    const a = await writer.prune({ olderThan: 1040, quotaBytes: 1e12 });
    assert.equal(a.deletedMessages, 40);
    assert.equal(reader.countMessages(), 10);
    assert.equal(writer.rawBytes(), 1000);
    assert.deepEqual(q.reports, [{ reason: "quota", messages: 0, sessions: 0, bodies: 30, bytes: 3000 }]);
    assert.deepEqual(a.reports, [{ reason: "age", messages: 40, sessions: 0, bodies: 0, bytes: 1000 }]);
    assert.deepEqual((await writer.prune({ olderThan: 1040, quotaBytes: 1e12 })).reports, [], "nothing pruned, nothing reported");
  });

  it("ages imported messages from their import unless told to go by their received time", async () => {
    const imported = (n: number, importedAt: number) => ({ ...msg(n, 500 + n), channel: "import", importedAt });
    await Promise.all([writer.putMessage(imported(100, 700)), writer.putMessage(imported(101, 5000)), writer.putMessage(imported(102, 9000))]);
    const before = reader.countMessages();
    // All three were received (600..602) before the cut-off; only the one imported before it goes. Live rows (1040..) stay.
    const r = await writer.prune({ olderThan: 1000, quotaBytes: 1e12 });
    assert.deepEqual(r.reports.map((x) => [x.reason, x.messages]), [["age", 1]]);
    assert.deepEqual(reader.listMessages({ limit: 1000 }).filter((m) => m.channel === "import").map((m) => m.subject), ["m102", "m101"]);
    const rest = await writer.prune({ olderThan: 1000, quotaBytes: 1e12, importedBy: "received-time" });
    assert.equal(rest.deletedMessages, 2);
    assert.equal(reader.countMessages(), before - 3);
  });

  it("runs store-module statements durably and rejects a bad one alone", async () => {
    const [ok, bad] = await Promise.allSettled([
      writer.exec([{ sql: "UPDATE messages SET kind = ? WHERE subject = ?", params: ["relay-test", "m49"] }]),
      writer.exec([{ sql: "UPDATE nosuchtable SET x = 1", params: [] }]),
    ]);
    assert.equal(ok.status, "fulfilled");
    assert.equal(bad.status, "rejected");
    assert.equal(reader.listMessages({ kind: "relay-test" }).length, 1);
  });
});

describe("has_html (migration 010)", () => {
  it("is unknown (null) for rows stored before it, through the migration and with a reader of the old store, until reanalyzed", async () => {
    const dir = tempDir();
    const db = new Database(join(dir, DB_FILE));
    const all = loadMigrations();
    const at = all.findIndex((m) => m.name.startsWith("010_"));
    assert.ok(at > 0);
    migrate(db, all.slice(0, at));
    db.prepare(`INSERT INTO messages (queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, rcpt_to, rcpt_count,
      size, sha256, body_stored, kind) VALUES ('Q', 's', 1, '192.0.2.1', 1, 'd', 25, '[]', 0, 1, 'x', 1, 'spam')`).run();
    db.prepare("INSERT INTO message_raw (message_id, data) VALUES (1, ?)").run(Buffer.from("x"));
    db.close();
    // a newer export reading a store its (older) sensor has not migrated
    const old = openSqliteReader(dir);
    assert.equal(old.getMessage(1)!.hasHtml, null);
    old.close();
    const writer = await openSqliteWriter(dir);
    const reader = openSqliteReader(dir);
    try {
      const id = await writer.putMessage(msg(3, 2));
      assert.equal(reader.getMessage(1)!.hasHtml, null);
      assert.equal(reader.getMessage(id)!.hasHtml, true);
      const verdict: Verdict = { kind: "spam", testedIps: [], matchesSensor: false, dropboxes: [], score: 0, evidence: [] };
      await reanalyzeStore(dir, async () => ({ verdict, hasHtml: true }));
      assert.equal(reader.getMessage(1)!.hasHtml, true);
      // confidence (migration 011): a new analyzer's verdicts are counted up/down and the column rewritten
      const certain: Verdict = { ...verdict, kind: "relay-test", confidence: "certain", reasons: ["certain: x"] };
      const sum = await reanalyzeStore(dir, async (row) => ({ verdict: row.id === 1 ? certain : verdict, hasHtml: true }));
      assert.equal(sum.messages, 2);
      assert.equal(sum.up, 1);
      assert.equal(sum.down, 0);
      assert.deepEqual(sum.moves, { "none -> certain": 1 });
      assert.equal(reader.getMessage(1)!.confidence, "certain");
      assert.equal(reader.getMessage(1)!.kind, "relay-test");
      const back = await reanalyzeStore(dir, async () => ({ verdict, hasHtml: true }));
      assert.equal(back.down, 1);
      assert.equal(reader.getMessage(1)!.confidence, null);
    } finally {
      reader.close();
      await writer.close();
    }
  });
});
