// The message pipeline on a real SQLite store: live mail is stored, announced and handed to delivery; the source cutoff
// drops bodies; a failed write is an answer, not a throw; history (import) is stamped and never delivered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createDispatcher, type RelaytrapEvent } from "./events/dispatcher.js";
import type { StoredMessageInfo } from "./delivery/types.js";
import { createIngest, IN_THREAD, type IngestMessage, type IngestOptions } from "./ingest.js";
import { createSourceCutoff } from "./policy/cutoff.js";
import Database from "./store/sqlite/driver.js";
import { openSqliteReader } from "./store/sqlite/reader.js";
import { openSqliteWriter } from "./store/sqlite/writer.js";
import type { StoreWriter } from "./store/types.js";
import { tempDir } from "../test/helpers/sensor.js";

const SENSOR_IP = "198.51.100.23";
const HOSTNAME = "mail.example.org";

function relayTest(to: string): IngestMessage {
  const raw = Buffer.from(`From: t@tester.example\r\nTo: ${to}\r\nSubject: Relay test ${SENSOR_IP}\r\n\r\n${SENSOR_IP}\r\n`);
  const ctx = { session: "s1", protocol: "smtp", src_ip: "192.0.2.7", src_port: 40000, dest_ip: "127.0.0.1", dest_port: 25 };
  return {
    raw,
    queueId: "ABCDEF1234",
    sessionId: "s1",
    receivedAt: Date.now(),
    srcIp: "192.0.2.7",
    srcPort: 40000,
    destIp: "127.0.0.1",
    destPort: 25,
    channel: "direct",
    helo: "tester.example",
    mailFrom: "t@tester.example",
    rcptTo: [to],
    session: { ctx, rdns: "tester.example", esmtp: true, tls: false },
  };
}

interface Rig {
  dataDir: string;
  writer: StoreWriter;
  events: RelaytrapEvent[];
  delivered: StoredMessageInfo[];
  logs: string[];
  opts: Omit<IngestOptions, "writer">;
}

async function rig(writerOpts: { maxDatabaseBytes?: number } = {}): Promise<Rig> {
  const dataDir = tempDir();
  const writer = await openSqliteWriter(dataDir, writerOpts);
  const dispatcher = createDispatcher({ sensor: "test" });
  const events: RelaytrapEvent[] = [];
  dispatcher.addSink({ name: "capture", write: (e) => events.push(e) });
  const delivered: StoredMessageInfo[] = [];
  const logs: string[] = [];
  const opts = {
    analysis: IN_THREAD,
    sensorIps: [SENSOR_IP],
    sensorNames: [HOSTNAME],
    log: (l: string) => logs.push(l),
    events: dispatcher,
    delivery: { onStored: (m: StoredMessageInfo) => void delivered.push(m) },
  };
  return { dataDir, writer, events, delivered, logs, opts };
}

function importedAt(dataDir: string, id: number): number | null {
  const db = new Database(join(dataDir, "relaytrap.db"), { readonly: true });
  try {
    return (db.prepare("SELECT imported_at FROM messages WHERE id = ?").get(id) as { imported_at: number | null }).imported_at;
  } finally {
    db.close();
  }
}

test("a live message is stored, announced (smtp.message.stored) and handed to delivery", async () => {
  const r = await rig();
  try {
    const m = relayTest("checker@dropbox.example");
    const out = await createIngest({ ...r.opts, writer: r.writer })(m);
    assert.ok(out.ok);
    assert.equal(out.kind, "relay-test");
    assert.equal(out.bodyStored, true);
    const reader = openSqliteReader(r.dataDir);
    try {
      assert.deepEqual(reader.getRaw(out.id), m.raw);
      assert.equal(reader.getMessage(out.id)?.queueId, "ABCDEF1234");
    } finally {
      reader.close();
    }
    const stored = r.events.filter((e) => e.eventid === "smtp.message.stored");
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.message, out.id);
    assert.equal(stored[0]?.session, "s1");
    assert.equal(stored[0]?.kind, "relay-test");
    assert.equal(stored[0]?.confidence, "certain");
    assert.equal(stored[0]?.body_stored, true);
    assert.equal(r.delivered.length, 1);
    const d = r.delivered[0]!;
    assert.equal(d.id, out.id);
    assert.equal(d.kind, "relay-test");
    assert.equal(d.rdns, "tester.example");
    assert.equal(d.esmtp, true);
    assert.deepEqual(d.ctx, m.session?.ctx);
    assert.equal(importedAt(r.dataDir, out.id), null, "live mail is not imported");
  } finally {
    await r.writer.close();
  }
});

test("role mail to the sensor's own host name is never a relay test (sensorNames reach the analysis)", async () => {
  const r = await rig();
  try {
    const m = relayTest(`postmaster@${HOSTNAME.toUpperCase()}`);
    const named = await createIngest({ ...r.opts, writer: r.writer })(m);
    assert.ok(named.ok);
    assert.notEqual(named.kind, "relay-test");
    const unnamed = await createIngest({ ...r.opts, sensorNames: [], writer: r.writer })({ ...m, queueId: "ABCDEF1235" });
    assert.ok(unnamed.ok);
    assert.equal(unnamed.kind, "relay-test", "the same message without the names: the test above is not vacuous");
  } finally {
    await r.writer.close();
  }
});

test("past the source cutoff the message is counted, its body is not stored, and smtp.message.dropped says why", async () => {
  const r = await rig();
  try {
    const cutoff = createSourceCutoff({ windowMs: 60_000, maxMessages: 1, maxBytes: 1e9, sampleEvery: 0, maxTrackedSources: 10 });
    let bodies = 0;
    const ingest = createIngest({ ...r.opts, writer: r.writer, cutoff, onBodyStored: () => bodies++ });
    const first = await ingest(relayTest("a@dropbox.example"));
    const second = await ingest(relayTest("b@dropbox.example"));
    assert.ok(first.ok && second.ok);
    assert.equal(first.bodyStored, true);
    assert.equal(second.bodyStored, false);
    assert.equal(bodies, 1);
    const reader = openSqliteReader(r.dataDir);
    try {
      assert.equal(reader.getRaw(second.id), null);
      assert.equal(reader.getMessage(second.id)?.dropReason, "source-cutoff");
    } finally {
      reader.close();
    }
    const dropped = r.events.filter((e) => e.eventid === "smtp.message.dropped");
    assert.deepEqual(
      dropped.map((e) => [e.reason, e.message]),
      [["source-cutoff", second.id]],
    );
    assert.deepEqual(
      r.delivered.map((d) => d.bodyStored),
      [true, false],
    );
  } finally {
    await r.writer.close();
  }
});

test("a write that finds storage full answers disk-full (nothing announced, nothing delivered) and asks for space", async () => {
  const r = await rig({ maxDatabaseBytes: 256 * 1024 });
  try {
    let full = 0;
    const m = relayTest("a@dropbox.example");
    const big = { ...m, raw: Buffer.concat([m.raw, Buffer.alloc(1024 * 1024, "x")]) };
    const out = await createIngest({ ...r.opts, writer: r.writer, onStorageFull: () => full++ })(big);
    assert.deepEqual(out, { ok: false, reason: "disk-full" });
    assert.equal(full, 1);
    assert.equal(r.events.length, 0);
    assert.equal(r.delivered.length, 0);
    assert.match(r.logs.join("\n"), /storing a message failed/);
  } finally {
    await r.writer.close();
  }
});

test("history (import): imported_at is stamped, a queue id made up, no events, no delivery, no cutoff", async () => {
  const r = await rig();
  try {
    const { session: _live, queueId: _q, ...m } = relayTest("checker@dropbox.example");
    const longAgo = Date.UTC(2019, 4, 1);
    const ingest = createIngest({ analysis: IN_THREAD, writer: r.writer, sensorIps: [SENSOR_IP], sensorNames: [HOSTNAME], log: () => {}, importedAt: () => 1_700_000_000_000 });
    const out = await ingest({ ...m, receivedAt: longAgo, channel: "import" });
    assert.ok(out.ok);
    assert.equal(out.kind, "relay-test");
    assert.equal(importedAt(r.dataDir, out.id), 1_700_000_000_000);
    const reader = openSqliteReader(r.dataDir);
    try {
      const row = reader.getMessage(out.id);
      assert.equal(row?.receivedAt, longAgo, "the original date is kept");
      assert.match(row?.queueId ?? "", /^[0-9A-F]{10}$/);
    } finally {
      reader.close();
    }
    assert.equal(r.events.length, 0);
    assert.equal(r.delivered.length, 0);
  } finally {
    await r.writer.close();
  }
});
