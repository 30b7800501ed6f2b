#!/usr/bin/env node
// Leak probe: the sensor in-process (from dist/), a short idle timeout, and load that churns sessions: silent client
// connections that the sensor times out (421) and the probe reopens, and with --mail smtp-source sending messages.
// Every 10 s two forced GCs, then the JS heap, external memory and RSS. A per-session or per-message leak shows as a
// heap that climbs; RSS alone also moves with the allocator and V8's heap sizing.
//
//   node --expose-gc bench/heap-probe.mjs [--seconds N] [--lanes N] [--mail]      (loopback only; N ≤ 3600, lanes ≤ 2000)
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT, SMTP_SOURCE } from "./lib.mjs";

const SAMPLE_MS = 10_000;
/** A client connection the sensor has not closed by then is closed by the probe (it should be after the timeout). */
const CLIENT_GIVE_UP_MS = 10_000;

const args = process.argv.slice(2);
const num = (flag, def, max) => {
  const i = args.indexOf(flag);
  const n = i === -1 ? def : Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    process.stderr.write(`heap-probe: ${flag} must be 1..${max}\n`);
    process.exit(2);
  }
  return n;
};
const seconds = num("--seconds", 120, 3600);
const lanes = num("--lanes", 500, 2000);
const mail = args.includes("--mail");
if (typeof global.gc !== "function") {
  process.stderr.write("heap-probe: run with node --expose-gc\n");
  process.exit(2);
}

const { loadConfig } = await import(join(ROOT, "dist", "src", "config", "load.js"));
const { createSensor } = await import(join(ROOT, "dist", "src", "sensor.js"));
const dir = mkdtempSync(join(tmpdir(), "relaytrap-heap-probe-"));
const config = loadConfig({
  env: {
    RELAYTRAP_LIMITS_IDLE_TIMEOUT_MS: "1000",
    RELAYTRAP_LIMITS_MAX_SESSIONS: String(lanes + 1000),
    RELAYTRAP_LIMITS_MAX_SESSIONS_PER_IP: String(lanes + 1000),
    RELAYTRAP_STORAGE_CUTOFF_MAX_MESSAGES: "100000000",
    RELAYTRAP_STORAGE_CUTOFF_MAX_BYTES: "1000000000000",
  },
  flags: { dataDir: join(dir, "data"), smtpListen: ["127.0.0.1:0"], webListen: "127.0.0.1:0" },
});
const sensor = await createSensor(config, { log: (l) => process.stderr.write(l + "\n") });
const port = sensor.listeners.find((l) => l.kind === "smtp").port;
const end = Date.now() + seconds * 1000;
const count = { opened: 0, closed: 0, messages: 0 };

function idleOnce() {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" });
    count.opened++;
    s.resume(); // read (and drop) the banner and the 421, so the server's close is seen
    const t = setTimeout(() => s.destroy(), CLIENT_GIVE_UP_MS);
    s.on("error", () => {});
    s.on("close", () => {
      count.closed++;
      clearTimeout(t);
      resolve();
    });
  });
}
async function idleLane() {
  while (Date.now() < end) await idleOnce();
}
const run = promisify(execFile);
async function mailLane() {
  while (Date.now() < end) {
    await run(SMTP_SOURCE, ["-s", "5", "-m", "50", "-l", "2048", "-f", "a@probe.invalid", "-t", "b@yahoo.com", `127.0.0.1:${port}`], { timeout: 60_000 });
    count.messages += 50;
  }
}
async function sampler() {
  const t0 = Date.now();
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    global.gc();
    global.gc();
    const m = process.memoryUsage();
    const mb = (n) => (n / 1048576).toFixed(1);
    process.stdout.write(
      `${Math.round((Date.now() - t0) / 1000)}s heap ${mb(m.heapUsed)} MB, external ${mb(m.external)} MB, rss ${mb(m.rss)} MB; ` +
        `idle sessions ${count.opened} opened / ${count.closed} closed, messages ${count.messages}, active ${sensor.smtp.activeSessions}\n`,
    );
  }
}
try {
  await Promise.all([...Array.from({ length: lanes }, idleLane), ...(mail ? [mailLane()] : []), sampler()]);
} finally {
  await sensor.close();
  rmSync(dir, { recursive: true, force: true });
}
