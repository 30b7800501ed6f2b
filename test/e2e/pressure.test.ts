// Holding under attack (issue 14): a client that pipelines commands and never reads its replies, and a crowd of idle
// connections from many sources, against the real CLI in a child process (its RSS is the sensor's alone). Loopback
// only; every wait is bounded.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { startCli, tempDir, type CliProcess } from "../helpers/sensor.js";
import { SmtpClient } from "../helpers/smtp-client.js";

/** Input the non-reading client pipelines (EHLO is answered with ~10 lines: a ~20x amplification). */
const FLOOD_BYTES = 10 * 1024 * 1024;
/**
 * Allowed RSS growth of the sensor while it is flooded: issue 14's 50 MB on Node 20 (measured +19 MB). Node 22+ (V8
 * 12-13) sizes its young generation by the machine's memory and grows the old generation later, so the same transient
 * garbage (the replies that fill the kernel's socket buffers before reading stops) peaks higher: +43 to +78 MB on Node
 * 24 here, with 10 MB and with 40 MB of flood alike (before the fix: +161 MB for 10 MB on Node 20, and growing with the
 * input); what is tested is that the growth is bounded, not the GC's timing.
 */
const MAX_RSS_GROWTH_KB = (Number(process.versions.node.split(".")[0]) >= 22 ? 100 : 50) * 1024;
/** How long the flood runs while RSS is sampled. */
const FLOOD_MS = 4000;
/** Idle connections and the loopback sources they come from (127.0.0.2 ... 127.0.0.101). */
const IDLE = 5000;
const SOURCES = 100;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? 0);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startSensorCli(env: NodeJS.ProcessEnv = {}): Promise<{ cli: CliProcess; port: number }> {
  const cli = startCli(["run", "--data-dir", tempDir(), "--smtp-listen", "127.0.0.1:0", "--hostname", "mx.example.net"], { env });
  const listeners = await cli.listening;
  return { cli, port: listeners.find((l) => l.kind === "smtp")!.port };
}

async function stop(cli: CliProcess): Promise<void> {
  cli.child.kill("SIGTERM");
  await cli.exited;
}

/** Greeting, EHLO, one message, QUIT: the time it took, in ms. */
async function transaction(port: number, localAddress?: string): Promise<number> {
  const t0 = performance.now();
  const c = await SmtpClient.connect(port, localAddress ? { localAddress } : {});
  try {
    const greeting = await c.reply();
    assert.match(greeting[0] ?? "(closed)", /^220 /, `greeting: ${JSON.stringify(greeting)}`);
    await c.startData({ greet: "EHLO client.example", from: "a@client.example", to: "b@yahoo.com" });
    const r = await c.sendData("Subject: served\r\n\r\nhello\r\n");
    assert.match(r[0] ?? "(closed)", /^250 /);
    await c.quit();
  } finally {
    c.destroy();
  }
  return performance.now() - t0;
}

describe("a client that pipelines and never reads", () => {
  let cli: CliProcess;
  let port: number;
  before(async () => ({ cli, port } = await startSensorCli()));
  after(() => stop(cli));

  it(`10 MB of unread pipelined EHLO grows RSS by < ${MAX_RSS_GROWTH_KB / 1024} MB; another client is served within 1 s`, async (t) => {
    const pid = cli.child.pid!;
    for (let i = 0; i < 3; i++) await transaction(port);
    await sleep(300);
    const base = rssKb(pid);
    // No data listener: the socket reads nothing once its small buffer is full, like a client that never reads.
    const flood: Socket = connect({ host: "127.0.0.1", port });
    flood.on("error", () => {});
    try {
      await new Promise<void>((r) => flood.once("connect", () => r()));
      flood.write(Buffer.from("EHLO x\r\n".repeat(FLOOD_BYTES / 8), "latin1"));
      let peak = base;
      const deadline = Date.now() + FLOOD_MS;
      const sampler = (async () => {
        while (Date.now() < deadline) {
          peak = Math.max(peak, rssKb(pid));
          await sleep(100);
        }
      })();
      await sleep(500);
      const served = await transaction(port);
      await sampler;
      const grew = peak - base;
      const seen = `RSS grew ${Math.round(grew / 1024)} MB (from ${Math.round(base / 1024)} MB); another client took ${served.toFixed(0)} ms for one transaction`;
      t.diagnostic(seen);
      assert.ok(grew < MAX_RSS_GROWTH_KB, seen);
      assert.ok(served < 1000, seen);
    } finally {
      flood.destroy();
    }
  });
});

describe(`${IDLE} idle connections from ${SOURCES} sources`, () => {
  let cli: CliProcess;
  let port: number;
  before(async () => ({ cli, port } = await startSensorCli()));
  after(() => stop(cli));

  it("a new client still completes a transaction within 2 s", { timeout: 120_000 }, async (t) => {
    const idle: Socket[] = [];
    const heard: string[] = [];
    try {
      // Defaults: limits.maxSessions 5000 and maxSessionsPerIp 50, i.e. the crowd fills the sensor exactly.
      for (let batch = 0; batch < IDLE; batch += 500) {
        const greeted = await Promise.all(
          Array.from({ length: Math.min(500, IDLE - batch) }, (_, k) => {
            const i = batch + k;
            return new Promise<boolean>((resolve) => {
              const s = connect({ host: "127.0.0.1", port, localAddress: `127.0.0.${2 + (i % SOURCES)}` });
              idle[i] = s;
              heard[i] = "";
              s.on("error", () => resolve(false));
              s.on("data", (d: Buffer) => {
                heard[i] = (heard[i] + d.toString("latin1")).slice(-512);
                resolve(heard[i]!.startsWith("220 "));
              });
              s.setTimeout(30_000, () => resolve(false));
            });
          }),
        );
        assert.equal(greeted.filter(Boolean).length, greeted.length, "an idle connection was not greeted");
      }
      assert.equal(idle.filter((s) => !s.destroyed).length, IDLE);
      const ms = await transaction(port, "127.0.0.1");
      t.diagnostic(`the new client took ${ms.toFixed(0)} ms`);
      assert.ok(ms < 2000, `the new client took ${ms.toFixed(0)} ms`);
      // Room was made by evicting idle connections, each told with the persona's timeout reply.
      const closed = heard.filter((h) => /\r\n421 /.test(h));
      assert.ok(closed.length >= 1, "no idle connection was evicted");
    } finally {
      for (const s of idle) s?.destroy();
    }
  });
});
