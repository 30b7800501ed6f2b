// Event log rotation: by size and by day, gzip-compressed rotated files, retention, reopen for external logrotate.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { RelaytrapEvent } from "./dispatcher.js";
import { createJsonlSink } from "./jsonl.js";
import { createRotator } from "./rotate.js";

function event(n: number): RelaytrapEvent {
  return {
    eventid: "smtp.command",
    timestamp: new Date().toISOString(),
    sensor: "s",
    session: `S${n}`,
    protocol: "smtp",
    src_ip: "192.0.2.1",
    src_port: 1000,
    dest_ip: "127.0.0.1",
    dest_port: 25,
    n,
    pad: "x".repeat(100),
  };
}

const turn = () => new Promise((r) => setImmediate(r));

/** Every event number in the live file and all rotated files, oldest first. */
function allEvents(dir: string): { numbers: number[]; rotated: string[] } {
  const rotated = readdirSync(dir).filter((f) => f.startsWith("events.jsonl-")).sort();
  const texts = rotated.map((f) => (f.endsWith(".gz") ? gunzipSync(readFileSync(join(dir, f))).toString("utf8") : readFileSync(join(dir, f), "utf8")));
  if (existsSync(join(dir, "events.jsonl"))) texts.push(readFileSync(join(dir, "events.jsonl"), "utf8"));
  const numbers = texts.flatMap((t) => t.split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n));
  return { numbers, rotated };
}

describe("event log rotation", () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "relaytrap-rotate-"))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("rotates by size, gzips rotated files, loses and reorders nothing", async () => {
    const sink = createJsonlSink(join(dir, "events.jsonl"), { maxBufferBytes: 1 << 20, rotate: { bytes: 2000, daily: false, keep: 1000 } });
    for (let n = 0; n < 200; n++) {
      sink.write(event(n));
      if (n % 5 === 4) await turn();
    }
    await sink.close!();
    const { numbers, rotated } = allEvents(dir);
    assert.deepEqual(numbers, Array.from({ length: 200 }, (_, i) => i));
    assert.ok(rotated.length >= 10, `${rotated.length} rotated files`);
    assert.ok(rotated.every((f) => f.endsWith(".gz")), `uncompressed: ${rotated.join(", ")}`);
    // No live file much past the limit (one turn's batch may end a file).
    for (const f of rotated) assert.ok(gunzipSync(readFileSync(join(dir, f))).length <= 2000, `${f}: ${gunzipSync(readFileSync(join(dir, f))).toString().slice(0, 300)}`);
  });

  it("keeps only the newest `keep` rotated files", async () => {
    const sink = createJsonlSink(join(dir, "events.jsonl"), { maxBufferBytes: 1 << 20, rotate: { bytes: 1000, daily: false, keep: 3 } });
    for (let n = 0; n < 100; n++) {
      sink.write(event(n));
      if (n % 3 === 2) await turn();
    }
    await sink.close!();
    const { numbers, rotated } = allEvents(dir);
    assert.equal(rotated.length, 3, rotated.join(", "));
    // What is left is the newest events, contiguous up to the last one.
    assert.equal(numbers.at(-1), 99);
    assert.deepEqual(numbers, Array.from({ length: numbers.length }, (_, i) => 100 - numbers.length + i));
  });

  it("rotates a file from a previous day at the first event when rotateDaily is set", async () => {
    const path = join(dir, "events.jsonl");
    writeFileSync(path, JSON.stringify(event(-1)) + "\n");
    const yesterday = (Date.now() - 86_400_000) / 1000;
    utimesSync(path, yesterday, yesterday);
    const sink = createJsonlSink(path, { maxBufferBytes: 1 << 20, rotate: { bytes: 0, daily: true, keep: 5 } });
    sink.write(event(0));
    await turn();
    sink.write(event(1));
    await sink.close!();
    const { numbers, rotated } = allEvents(dir);
    assert.equal(rotated.length, 1);
    assert.deepEqual(numbers, [-1, 0, 1]);
    assert.deepEqual(readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { n: number }).n), [0, 1]);
  });

  it("reopens after an external logrotate renamed the file (SIGHUP), with rotation off", async () => {
    const path = join(dir, "events.jsonl");
    const sink = createJsonlSink(path, { maxBufferBytes: 1 << 20, rotate: { bytes: 0, daily: false, keep: 0 } });
    sink.write(event(0));
    await turn();
    await new Promise((r) => setTimeout(r, 50));
    renameSync(path, path + ".1");
    sink.reopen();
    sink.write(event(1));
    await sink.close!();
    assert.match(readFileSync(path + ".1", "utf8"), /"n":0/);
    assert.match(readFileSync(path, "utf8"), /"n":1/);
    assert.doesNotMatch(readFileSync(path, "utf8"), /"n":0/);
  });

  it("compresses rotated files a crash left uncompressed, at the next start", async () => {
    const path = join(dir, "events.jsonl");
    writeFileSync(path + "-20260101T000000000Z", JSON.stringify(event(7)) + "\n");
    const rotator = createRotator(path, { bytes: 100, daily: false, keep: 5 }, (e) => assert.fail(e));
    await rotator.recover();
    assert.deepEqual(readdirSync(dir), ["events.jsonl-20260101T000000000Z.gz"]);
    assert.match(gunzipSync(readFileSync(join(dir, "events.jsonl-20260101T000000000Z.gz"))).toString(), /"n":7/);
  });
});
