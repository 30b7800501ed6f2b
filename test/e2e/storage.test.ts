// Storage faults: a full database (storage.maxDatabaseBytes) gets the persona's 452 with nothing acknowledged and
// nothing corrupt, prunes, and stores again once space returns; a failing event log never stops the sensor.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "../../src/store/sqlite/driver.js";
import { openSqliteWriter } from "../../src/store/sqlite/writer.js";
import { createIngest, IN_THREAD } from "../../src/ingest.js";
import { runCli, startCli, startSensor, tempDir, type TestSensor } from "../helpers/sensor.js";
import { SmtpClient } from "../helpers/smtp-client.js";

const CAP = 2 * 1024 * 1024;
/** Bound on messages sent to fill the cap (each ~40 KB, so the cap is reached after ~50). */
const MAX_FILL = 400;

function message(n: number): string {
  const lines = [`Subject: fill ${n}`, `X-Nonce: ${randomBytes(8).toString("hex")}`, ""];
  const body = randomBytes(30_000).toString("base64");
  for (let i = 0; i < body.length; i += 76) lines.push(body.slice(i, i + 76));
  return lines.join("\r\n") + "\r\n";
}

interface Outcome {
  reply: string;
  sha: string;
}

/** One message in its own transaction on an open session; the reply to the end of DATA. */
async function send(c: SmtpClient, n: number): Promise<Outcome> {
  await c.startData({ greet: null, from: "fill@example.net", to: "victim@yahoo.com" });
  const msg = message(n);
  const r = await c.sendData(msg);
  return { reply: r[r.length - 1] ?? "(closed)", sha: createHash("sha256").update(msg).digest("hex") };
}

function checkDb(dataDir: string): { integrity: string; rows: Map<string, { bodyStored: boolean; intact: boolean }> } {
  const db = new Database(join(dataDir, "relaytrap.db"), { readonly: true });
  try {
    const integrity = db.pragma("integrity_check", { simple: true }) as string;
    const rows = new Map<string, { bodyStored: boolean; intact: boolean }>();
    for (const r of db
      .prepare("SELECT m.queue_id, m.sha256, m.body_stored, r.data FROM messages m LEFT JOIN message_raw r ON r.message_id = m.id")
      .all() as Array<{ queue_id: string; sha256: string; body_stored: number; data: Buffer | null }>) {
      const intact = r.body_stored === 0 ? r.data === null : r.data !== null && createHash("sha256").update(r.data).digest("hex") === r.sha256;
      rows.set(r.sha256, { bodyStored: r.body_stored === 1, intact });
    }
    return { integrity, rows };
  } finally {
    db.close();
  }
}

describe("storage cap (storage.maxDatabaseBytes)", () => {
  it("answers 452 when full, acknowledges nothing it did not store, prunes, resumes, and takes a raised cap on restart", async () => {
    const dataDir = tempDir();
    const cfg = (cap: number) => ({ dataDir, storage: { maxDatabaseBytes: cap, cutoffMaxMessages: 100_000, cutoffMaxBytes: 1_000_000_000 } });
    let t: TestSensor = await startSensor(cfg(CAP));
    const outcomes: Outcome[] = [];
    try {
      const c = await SmtpClient.connect(t.port);
      await c.reply();
      await c.expect("EHLO filler.example", "250");
      let full: Outcome | null = null;
      for (let n = 0; n < MAX_FILL && !full; n++) {
        const o = await send(c, n);
        outcomes.push(o);
        if (!o.reply.startsWith("250 ")) full = o;
      }
      assert.ok(full, `no 452 after ${MAX_FILL} messages under a ${CAP} byte cap`);
      assert.equal(full.reply, "452 4.3.1 Insufficient system storage");
      // The session is still usable: the real server keeps talking after a 452.
      await c.expect("NOOP", "250 2.0.0 Ok");
      const dropped = await t.waitEvent("smtp.message.dropped", (e) => e.reason === "storage-full");
      assert.equal(dropped.eventid, "smtp.message.dropped");

      // The full-storage prune frees a slice of the cap: the next messages are stored again.
      await t.sensor.prune();
      let resumed = 0;
      for (let n = 0; n < 5; n++) {
        const o = await send(c, 1000 + n);
        outcomes.push(o);
        if (o.reply.startsWith("250 ")) resumed++;
        else await t.sensor.prune();
      }
      assert.ok(resumed >= 3, `only ${resumed} of 5 messages stored after pruning`);
      await c.quit();
    } finally {
      await t.sensor.close();
    }

    let check = checkDb(dataDir);
    assert.equal(check.integrity, "ok");
    for (const o of outcomes) {
      const row = check.rows.get(o.sha);
      if (o.reply.startsWith("250 ")) {
        assert.ok(row, "an acknowledged message is missing");
        assert.ok(row.intact, "an acknowledged message is not intact");
      } else {
        assert.equal(row, undefined, `a message answered ${o.reply} is in the store`);
      }
    }
    const prunedBodies = [...check.rows.values()].filter((r) => !r.bodyStored).length;
    assert.ok(prunedBodies > 0, "nothing was pruned");
    const sizeBefore = (() => {
      const db = new Database(join(dataDir, "relaytrap.db"), { readonly: true });
      try {
        return (db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number);
      } finally {
        db.close();
      }
    })();
    assert.ok(sizeBefore <= CAP, `database grew to ${sizeBefore} bytes past the ${CAP} byte cap`);

    // Restart with four times the cap: it grows past the old cap, never past the new one.
    t = await startSensor(cfg(CAP * 4));
    try {
      const c = await SmtpClient.connect(t.port);
      await c.reply();
      await c.expect("EHLO filler.example", "250");
      for (let n = 0; n < 30; n++) {
        const o = await send(c, 2000 + n);
        outcomes.push(o);
        assert.equal(o.reply.slice(0, 4), "250 ", `message ${n} after raising the cap: ${o.reply}`);
      }
      await c.quit();
      const db = new Database(join(dataDir, "relaytrap.db"), { readonly: true });
      const bytes = (db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number);
      db.close();
      assert.ok(bytes > CAP && bytes <= CAP * 4, `database is ${bytes} bytes after raising the cap to ${CAP * 4}`);
    } finally {
      await t.close();
    }
  });

  it("keeps a database without a cap unlimited (max_page_count untouched)", async () => {
    const t = await startSensor();
    try {
      const db = new Database(join(t.dataDir, "relaytrap.db"), { readonly: true });
      assert.ok((db.pragma("max_page_count", { simple: true }) as number) > 1_000_000_000);
      db.close();
    } finally {
      await t.close();
    }
  });
});

describe("a failing event log never stops the sensor", () => {
  async function sendOne(t: TestSensor): Promise<string> {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.expect("EHLO ok.example", "250");
    const o = await send(c, 1);
    await c.quit();
    return o.reply;
  }

  it("events.jsonl replaced by a directory: messages still stored; SIGHUP reopen recovers once the path is fixed", async () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, "events.jsonl"));
    const t = await startSensor({ dataDir });
    try {
      assert.match(await sendOne(t), /^250 2\.0\.0 Ok: queued as /);
      assert.match(await sendOne(t), /^250 /);
      rmdirSync(join(dataDir, "events.jsonl"));
      t.sensor.reopenLogs();
      assert.match(await sendOne(t), /^250 /);
      await t.waitEvent("smtp.session.closed");
      await new Promise((r) => setTimeout(r, 100));
      const log = readFileSync(join(dataDir, "events.jsonl"), "utf8");
      assert.match(log, /"eventid":"smtp\.message\.stored"/);
    } finally {
      await t.close();
    }
  });

  for (const [what, file] of [
    ["a path below a regular file (cannot be created)", "/dev/null/relaytrap/events.jsonl"],
    ["a full disk (/dev/full: ENOSPC on every write)", "/dev/full"],
  ] as const) {
    it(`event log on ${what}: the sensor starts, answers and stores`, async () => {
      const t = await startSensor({ events: { file } });
      try {
        for (let i = 0; i < 3; i++) assert.match(await sendOne(t), /^250 /);
        const db = new Database(join(t.dataDir, "relaytrap.db"), { readonly: true });
        assert.equal((db.prepare("SELECT COUNT(*) AS n FROM messages").get() as { n: number }).n, 3);
        db.close();
      } finally {
        await t.close();
      }
      assert.ok(!existsSync("/dev/null/relaytrap"));
    });
  }

  it("rmSync of the data dir's event log while running is survived (recreated at reopen)", async () => {
    const t = await startSensor();
    try {
      assert.match(await sendOne(t), /^250 /);
      rmSync(join(t.dataDir, "events.jsonl"), { force: true });
      t.sensor.reopenLogs();
      assert.match(await sendOne(t), /^250 /);
      await new Promise((r) => setTimeout(r, 100));
      assert.match(readFileSync(join(t.dataDir, "events.jsonl"), "utf8"), /smtp\.message\.stored/);
    } finally {
      await t.close();
    }
  });
});

describe("pruning never surprises (storage.maxAgeDays)", () => {
  /** An mbox of relay tests received in 2013-2015, as a long-running trap kept them. */
  function oldMbox(n: number): string {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const d = new Date(Date.UTC(2013 + (i % 3), i % 12, 1 + (i % 28), 12, 0, 0));
      out.push(
        `From paulette@example.net ${d.toUTCString().replace(",", "")}`,
        `Received: from client.example ([192.0.2.${1 + (i % 200)}]) by mx.example.org; ${d.toUTCString()}`,
        "From: paulette <paulette@example.net>",
        "To: dropbox@yahoo.example",
        `Subject: 198.51.100.23@pauletteOpen Relay ${i}`,
        `Date: ${d.toUTCString()}`,
        `Message-ID: <old${i}@example.net>`,
        "",
        `198.51.100.23 test ${i}`,
        "",
      );
    }
    return out.join("\n");
  }

  async function sensorRunOnce(dataDir: string): Promise<string> {
    const cli = startCli(["run", "--data-dir", dataDir, "--smtp-listen", "127.0.0.1:0"]);
    await cli.listening;
    // The start-up prune runs before "ready"; a stopping sensor waits for it.
    cli.child.kill("SIGTERM");
    assert.deepEqual(await cli.exited, { code: 0, signal: null }, cli.stderr + cli.stdout.join("\n"));
    return cli.stderr;
  }

  function events(dataDir: string): Array<Record<string, unknown>> {
    const path = join(dataDir, "events.jsonl");
    return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) : [];
  }

  it("an imported 2013-2015 mbox survives the next run with default settings, and import says when it will go", async () => {
    const dataDir = tempDir();
    const mbox = join(dataDir, "..", `${dataDir.split("/").pop()}.mbox`);
    writeFileSync(mbox, oldMbox(12));
    const imp = await runCli(["import", mbox, "--data-dir", dataDir]);
    rmSync(mbox);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stdout, /imported 12 of 12 messages/);
    // Told that these are older than storage.maxAgeDays, and that they are kept (pruned by import time).
    assert.match(imp.stderr, /12 imported messages are older than storage\.maxAgeDays \(365\)/);
    assert.match(imp.stderr, /storage\.pruneImported/);

    await sensorRunOnce(dataDir);
    const exported = await runCli(["export", "--data-dir", dataDir, "--no-raw"]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout.split("\n").filter(Boolean).length, 12, "imported history deleted by the next run");
    assert.equal(events(dataDir).filter((e) => e.eventid === "store.pruned").length, 0);
  });

  it("import with storage.pruneImported: received-time warns that the next prune deletes what it imports", async () => {
    const dataDir = tempDir();
    const mbox = join(dataDir, "..", `${dataDir.split("/").pop()}.mbox`);
    writeFileSync(mbox, oldMbox(3));
    const imp = await runCli(["import", mbox, "--data-dir", dataDir], { RELAYTRAP_STORAGE_PRUNE_IMPORTED: "received-time" });
    rmSync(mbox);
    assert.equal(imp.code, 0, imp.stderr);
    assert.match(imp.stderr, /^relaytrap: warning: 3 imported messages are older than storage\.maxAgeDays \(365\): the sensor's next prune deletes them/m);
    // And it does: the operator chose it, the prune says so.
    const cli = startCli(["run", "--data-dir", dataDir, "--smtp-listen", "127.0.0.1:0"], { env: { RELAYTRAP_STORAGE_PRUNE_IMPORTED: "received-time" } });
    await cli.listening;
    cli.child.kill("SIGTERM");
    await cli.exited;
    assert.match(cli.stderr, /^relaytrap: pruned 3 messages, 0 sessions \(\d+ bytes\): age, .*imports by received time\)$/m);
    assert.equal((await runCli(["export", "--data-dir", dataDir])).stdout, "");
  });

  it("a prune by age of live messages logs a line and emits store.pruned", async () => {
    const dataDir = tempDir();
    const writer = await openSqliteWriter(dataDir);
    const old = Date.now() - 400 * 86_400_000;
    const ingest = createIngest({ analysis: IN_THREAD, writer, sensorIps: [], sensorNames: [], log: () => {} });
    for (let i = 0; i < 3; i++) {
      const raw = Buffer.from(`Subject: live ${i}\r\n\r\nbody ${i}\r\n`);
      const out = await ingest({
        raw,
        receivedAt: old + i,
        srcIp: "192.0.2.7",
        srcPort: 0,
        destIp: "127.0.0.1",
        destPort: 25,
        channel: "direct",
        sessionId: `s${i}`,
        helo: "x",
        mailFrom: "a@example.net",
        rcptTo: ["b@example.org"],
      });
      assert.ok(out.ok);
    }
    await writer.close();
    const stderr = await sensorRunOnce(dataDir);
    assert.match(stderr, /^relaytrap: pruned 3 messages, 0 sessions \(\d+ bytes\): age, received before \d{4}-\d\d-\d\dT[^ ]+Z \(storage\.maxAgeDays 365\)$/m);
    const pruned = events(dataDir).filter((e) => e.eventid === "store.pruned");
    assert.equal(pruned.length, 1, JSON.stringify(pruned));
    assert.equal(pruned[0]!.reason, "age");
    assert.equal(pruned[0]!.messages, 3);
    assert.ok((pruned[0]!.bytes as number) > 0);
    const exported = await runCli(["export", "--data-dir", dataDir]);
    assert.equal(exported.stdout, "");
  });
});
