// The SQLite delivery store: dropbox learning, recurring recipients, idempotent outbox, counters, kill switch, expiry.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DeliveryStore, NewOutboxEntry } from "../delivery.js";
import type { StoreReader, StoreWriter } from "../types.js";
import { createSqliteDeliveryStore, readDeliveryStatus, setDeliverySwitch } from "./delivery.js";
import { openSqliteReader } from "./reader.js";
import { openSqliteWriter } from "./writer.js";

const RULE = { minMessages: 3, minSources: 2 };
const ALL = ["queued", "sending", "sent", "failed"] as const;

describe("sqlite delivery store", () => {
  let dir: string;
  let writer: StoreWriter;
  let reader: StoreReader;
  let store: DeliveryStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "relaytrap-delivery-"));
    writer = await openSqliteWriter(dir);
    reader = openSqliteReader(dir);
    store = createSqliteDeliveryStore(writer, reader);
  });
  after(async () => {
    await writer.close();
    reader.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("learns dropboxes from relay tests: tests, distinct sources, tester", async () => {
    await store.recordSighting({ at: 1000, srcIp: "203.0.113.1", dropboxes: ["Box@Drop.example"], tester: null, recipients: [] }, RULE);
    await store.recordSighting({ at: 2000, srcIp: "203.0.113.2", dropboxes: ["box@drop.example"], tester: "dsbl", recipients: [] }, RULE);
    await store.recordSighting({ at: 3000, srcIp: "203.0.113.2", dropboxes: ["box@drop.example"], tester: null, recipients: [] }, RULE);
    const [d] = store.listDropboxes();
    assert.deepEqual(d, { address: "box@drop.example", firstSeen: 1000, lastSeen: 3000, tests: 3, distinctSources: 2, tester: "dsbl", source: "relay-test" });
  });

  it("counts spam recipients and lists recurring ones as candidate dropboxes (not as known dropboxes)", async () => {
    for (const [i, ip] of ["198.18.0.1", "198.18.0.2", "198.18.0.1"].entries()) {
      await store.recordSighting({ at: 5000 + i, srcIp: ip, dropboxes: [], tester: null, recipients: ["often@victim.example", `once${i}@victim.example`, "box@drop.example"] }, RULE);
    }
    const top = store.topRecipients(1)[0]!;
    assert.equal(top.messages, 3);
    assert.equal(top.distinctSources, 2);
    const boxes = new Map(store.listDropboxes().map((d) => [d.address, d]));
    assert.equal(boxes.get("often@victim.example")?.source, "recurring");
    assert.equal(boxes.get("once0@victim.example"), undefined);
    assert.equal(boxes.get("box@drop.example")?.source, "relay-test", "a relay-test dropbox stays one");
    assert.equal(boxes.get("box@drop.example")?.lastSeen, 5002, "a sighting in spam refreshes it");
    assert.deepEqual([...store.knownDropboxes(["OFTEN@victim.example", "Box@Drop.Example", "x@y.example"])], ["box@drop.example"]);
  });

  it("the outbox is idempotent per (message, recipient) and feeds the counters", async () => {
    const e = (messageId: number, recipient: string, srcIp = "203.0.113.1"): NewOutboxEntry => ({
      messageId,
      recipient,
      mode: "relay-test",
      status: "queued",
      srcIp,
      sessionId: "s",
      mailFrom: "a@b.example",
      received: "Received: x\r\n",
      createdAt: 10_000,
    });
    const ids = await store.enqueue([e(1, "box@drop.example"), e(2, "box@drop.example", "203.0.113.9")], []);
    assert.ok(ids.every((id) => typeof id === "number"));
    assert.deepEqual(await store.enqueue([e(1, "box@drop.example")], []), [null], "no duplicate");
    const c = store.counters(0, "203.0.113.1", [...ALL]);
    assert.equal(c.total, 2);
    assert.equal(c.perSource, 1);
    assert.deepEqual([...c.perRecipient], [["box@drop.example", 2]]);
    assert.equal(store.counters(20_000, "203.0.113.1", [...ALL]).total, 0, "outside the window");
    assert.equal(store.counters(20_000, "203.0.113.1", [...ALL]).perRecipient.size, 0, "outside the window");

    // Every spelling stored is reported as stored (issue 14): the policy folds "\"box\"@" and "BOX@" into box@.
    await store.enqueue([e(3, '"box"@drop.example'), e(4, "BOX@Drop.Example")], []);
    const all = store.counters(0, "203.0.113.1", [...ALL]);
    assert.deepEqual(new Map(all.perRecipient), new Map([["box@drop.example", 2], ['"box"@drop.example', 1], ["BOX@Drop.Example", 1]]));

    const [row] = store.due(10_000, 10);
    assert.ok(await store.claim(row!.id, 11_000));
    assert.ok(!(await store.claim(row!.id, 11_000)), "claimed once");
    assert.equal(await store.requeueInterrupted(12_000), 1, "a crash mid-send queues it again");
    await store.finish(row!.id, { status: "sent", at: 13_000, route: "r", response: "250 ok" }, { at: 13_000, messageId: 1, recipient: "box@drop.example", decision: "sent", reason: "r" });
    assert.equal(store.stats(0).sent, 1);
  });

  it("the kill switch persists through its own connection", () => {
    assert.equal(store.switchState(), "on");
    setDeliverySwitch(dir, "off");
    assert.equal(store.switchState(), "off");
    assert.equal(readDeliveryStatus(dir).switch, "off");
    setDeliverySwitch(dir, "on");
    assert.equal(store.switchState(), "on");
  });

  it("expires addresses without sightings", async () => {
    await store.expire({ addressesBefore: 5001, historyBefore: null });
    const left = store.listDropboxes().map((d) => d.address).sort();
    assert.deepEqual(left, ["box@drop.example", "often@victim.example"]);
    await store.expire({ addressesBefore: 10_000, historyBefore: null });
    assert.deepEqual(store.listDropboxes(), []);
    assert.deepEqual(store.topRecipients(), []);
  });
});

describe("recordRecipients (the batched spam-recipient counts)", () => {
  it("leaves the store as the same sightings recorded one by one do", async () => {
    const dirs = [mkdtempSync(join(tmpdir(), "relaytrap-batch-")), mkdtempSync(join(tmpdir(), "relaytrap-rows-"))];
    const opened = await Promise.all(dirs.map(async (d) => {
      const writer = await openSqliteWriter(d);
      const reader = openSqliteReader(d);
      return { writer, reader, store: createSqliteDeliveryStore(writer, reader) };
    }));
    try {
      const [batched, rows] = opened as [(typeof opened)[number], (typeof opened)[number]];
      // A relay-test dropbox that spam also reaches, a recipient recurring over sources, one-offs.
      for (const o of opened) await o.store.recordSighting({ at: 100, srcIp: "203.0.113.1", dropboxes: ["box@drop.example"], tester: null, recipients: [] }, RULE);
      const sightings: Array<[number, string, string[]]> = [
        [5000, "198.18.0.1", ["often@victim.example", "once0@victim.example", "box@drop.example"]],
        [5001, "198.18.0.2", ["often@victim.example", "once1@victim.example"]],
        [5002, "198.18.0.1", ["often@victim.example", "box@drop.example"]],
        [5003, "198.18.0.3", ["often@victim.example"]],
      ];
      for (const [at, srcIp, recipients] of sightings) await rows.store.recordSighting({ at, srcIp, dropboxes: [], tester: null, recipients }, RULE);
      // The engine's aggregation: one entry per (recipient, source) with its count and first/last time.
      const agg = new Map<string, { address: string; srcIp: string; messages: number; first: number; last: number }>();
      for (const [at, srcIp, recipients] of sightings) {
        for (const address of recipients) {
          const e = agg.get(`${address} ${srcIp}`);
          if (e) Object.assign(e, { messages: e.messages + 1, last: at });
          else agg.set(`${address} ${srcIp}`, { address, srcIp, messages: 1, first: at, last: at });
        }
      }
      await batched.store.recordRecipients([...agg.values()], RULE);
      assert.deepEqual(batched.store.topRecipients(10), rows.store.topRecipients(10));
      assert.deepEqual(batched.store.listDropboxes(), rows.store.listDropboxes());
      assert.equal(batched.store.listDropboxes().find((d) => d.address === "often@victim.example")?.source, "recurring");
      assert.equal(batched.store.listDropboxes().find((d) => d.address === "box@drop.example")?.lastSeen, 5002);
    } finally {
      for (const o of opened) {
        await o.writer.close();
        o.reader.close();
      }
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
