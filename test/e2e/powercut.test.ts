// Power-cut simulation: while clients send and the sensor writes, the sensor process is frozen (SIGSTOP) at a random
// moment and its data dir (relaytrap.db, -wal, -shm) copied, as a power cut would leave the disk; the copy must open
// with integrity_check "ok", every message in it intact (sha256), and every message acknowledged before the cut in it.
//
// Why freeze: copying the three files one after another from a running writer is not a state any power cut can
// produce (a checkpoint between two copies mixes moments). Frozen, the files are exactly what the kernel holds at one
// instant, mid-transaction or mid-fsync included; that is a superset of what a cut leaves on the platter, which SQLite's
// WAL checksums must cope with either way.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import Database from "../../src/store/sqlite/driver.js";
import { startCli, tempDir } from "../helpers/sensor.js";
import { SmtpClient } from "../helpers/smtp-client.js";

const CUTS = 8;
const SENDERS = 4;
/** Bound on messages per sender over the whole test. */
const MAX_PER_SENDER = 3000;
const FILES = ["relaytrap.db", "relaytrap.db-wal", "relaytrap.db-shm"];

function message(sender: number, n: number): string {
  const lines = [`Subject: powercut s${sender} n${n}`, `X-Nonce: ${randomBytes(8).toString("hex")}`, ""];
  const body = randomBytes(100 + Math.floor(Math.random() * 12_000)).toString("base64");
  for (let i = 0; i < body.length; i += 76) lines.push(body.slice(i, i + 76));
  return lines.join("\r\n") + "\r\n";
}

async function sender(port: number, id: number, acked: Set<string>, stop: { done: boolean }): Promise<void> {
  const c = await SmtpClient.connect(port);
  try {
    await c.reply();
    await c.expect("EHLO powercut.example", "250");
    for (let n = 0; n < MAX_PER_SENDER && !stop.done && !c.closed; n++) {
      await c.startData({ greet: null, from: "p@powercut.example", to: `r${n % 7}@yahoo.com` });
      const msg = message(id, n);
      const r = await c.sendData(msg);
      assert.match(r[0] ?? "", /^250 /);
      acked.add(createHash("sha256").update(msg).digest("hex"));
    }
  } finally {
    c.destroy();
  }
}

function verifyCopy(dir: string, ackedBeforeCut: Set<string>): { messages: number } {
  const db = new Database(join(dir, "relaytrap.db"));
  try {
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    const rows = db
      .prepare("SELECT m.id, m.sha256, m.size, m.body_stored, r.data FROM messages m LEFT JOIN message_raw r ON r.message_id = m.id")
      .all() as Array<{ id: number; sha256: string; size: number; body_stored: number; data: Buffer | null }>;
    const present = new Set<string>();
    for (const r of rows) {
      present.add(r.sha256);
      assert.equal(r.body_stored, 1, `message ${r.id} has no body`);
      assert.ok(r.data, `message ${r.id}: body row missing`);
      assert.equal(r.data.length, r.size, `message ${r.id}: body truncated`);
      assert.equal(createHash("sha256").update(r.data).digest("hex"), r.sha256, `message ${r.id}: body does not match its sha256`);
    }
    for (const sha of ackedBeforeCut) assert.ok(present.has(sha), `a message acknowledged before the cut is missing (${sha.slice(0, 12)})`);
    return { messages: rows.length };
  } finally {
    db.close();
  }
}

it(`survives ${CUTS} simulated power cuts at random moments of writing`, async (t) => {
  const dataDir = tempDir();
  const copies = tempDir("relaytrap-powercut-");
  const cli = startCli(["run", "--data-dir", dataDir, "--smtp-listen", "127.0.0.1:0", "--hostname", "mx.example.net"], {
    env: { RELAYTRAP_STORAGE_CUTOFF_MAX_MESSAGES: "1000000", RELAYTRAP_STORAGE_CUTOFF_MAX_BYTES: "1000000000" },
  });
  const stop = { done: false };
  const acked = new Set<string>();
  const pid = cli.child.pid!;
  try {
    const port = (await cli.listening).find((l) => l.kind === "smtp")!.port;
    const senders = Array.from({ length: SENDERS }, (_, i) => sender(port, i, acked, stop));
    const report: string[] = [];
    for (let cut = 0; cut < CUTS; cut++) {
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
      const before = new Set(acked);
      process.kill(pid, "SIGSTOP");
      const dir = join(copies, `cut${cut}`);
      try {
        mkdirSync(dir);
        for (const f of FILES) if (existsSync(join(dataDir, f))) copyFileSync(join(dataDir, f), join(dir, f));
      } finally {
        process.kill(pid, "SIGCONT");
      }
      // The same moment without the shared-memory index (a cut loses it; SQLite rebuilds it from the WAL).
      const noShm = join(copies, `cut${cut}-noshm`);
      mkdirSync(noShm);
      for (const f of FILES.slice(0, 2)) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(noShm, f));
      const a = verifyCopy(dir, before);
      const b = verifyCopy(noShm, before);
      assert.ok(a.messages >= before.size && b.messages >= before.size);
      report.push(`cut ${cut}: ${before.size} acked, ${a.messages} in the copy`);
    }
    stop.done = true;
    await Promise.all(senders);
    assert.ok(acked.size > CUTS, `only ${acked.size} messages were sent`);
    t.diagnostic(`power cuts: ${report.join("; ")}`);
  } finally {
    stop.done = true;
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      // already gone
    }
    cli.child.kill("SIGTERM");
    await cli.exited;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(copies, { recursive: true, force: true });
  }
});
