// Shared helpers for the benchmarks: start/stop relaytrap and smtp-sink on loopback, run a bounded child, read RSS,
// count stored messages, describe the machine. Plain Node, no dependencies beyond the project's own node_modules.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer, connect } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** The sensor under test; RELAYTRAP_BENCH_CLI points at another build (e.g. a copy of dist/ that others can't rebuild mid-run). */
export const CLI = process.env.RELAYTRAP_BENCH_CLI || join(ROOT, "dist", "src", "cli.js");
export const SMTP_SOURCE = "/usr/sbin/smtp-source";
export const SMTP_SINK = "/usr/sbin/smtp-sink";
export const LOOPBACK = "127.0.0.1";

export function requireBuilt() {
  if (!existsSync(CLI)) {
    process.stderr.write(`bench: ${CLI} is missing; run \`npm run build\` first\n`);
    process.exit(2);
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A free TCP port on loopback (for smtp-sink, which needs one on its command line). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, LOOPBACK, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves when `proc` exits (or has already exited) with { code, signal }. */
export function exited(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  return new Promise((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
export async function stopProcess(proc, graceMs = 10_000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return exited(proc);
  proc.kill("SIGTERM");
  let timer;
  const res = await Promise.race([exited(proc), new Promise((r) => (timer = setTimeout(() => r(null), graceMs)))]);
  clearTimeout(timer);
  if (res) return res;
  proc.kill("SIGKILL");
  return exited(proc);
}

/** Runs a command to completion, killed after timeoutMs. Returns { code, signal, stdout, stderr, ms, timedOut }. */
export async function runBounded(cmd, args, timeoutMs) {
  const t0 = process.hrtime.bigint();
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d) => (stdout.length < 65536 ? (stdout += d) : null));
  proc.stderr.on("data", (d) => (stderr.length < 65536 ? (stderr += d) : null));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, timeoutMs);
  const { code, signal } = await exited(proc);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  clearTimeout(timer);
  return { code, signal, stdout, stderr, ms, timedOut };
}

/** Connects, reads the 220 banner, QUITs. Used to wait for a server to be ready. */
export function probeBanner(port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const s = connect({ host: LOOPBACK, port });
    const timer = setTimeout(() => done(false), timeoutMs);
    let buf = "";
    function done(ok) {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    }
    s.on("error", () => done(false));
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) {
        s.end("QUIT\r\n");
        done(buf.startsWith("220"));
      }
    });
  });
}

export function benchConfigYaml(dataDir, extraLimits = {}, extraYaml = "") {
  const limits = {
    maxSessions: 20_000,
    maxSessionsPerIp: 20_000,
    maxTxnPerSession: 1_000_000,
    ...extraLimits,
  };
  return [
    "# written by bench/: limits raised so the benchmark is never refused; every body is stored.",
    `dataDir: ${JSON.stringify(dataDir)}`,
    `smtpListen: ["${LOOPBACK}:0"]`,
    `webListen: "${LOOPBACK}:0"`,
    "hostname: mx.bench.invalid",
    "rdns:",
    "  enabled: false",
    "limits:",
    ...Object.entries(limits).map(([k, v]) => `  ${k}: ${v}`),
    "storage:",
    "  cutoffMaxMessages: 1000000000",
    "  cutoffMaxBytes: 2000000000",
    "  cutoffSampleEvery: 1",
    "  quotaBytes: 1000000000000",
    extraYaml,
    "",
  ].join("\n");
}

/**
 * Starts `node dist/src/cli.js run` with a fresh data dir under the OS tmp dir and a config raising the limits.
 * Resolves with { proc, port, ports, dir, dataDir, pid, stop(), cleanup() } once it prints "relaytrap: ready";
 * `port` is the SMTP port, `ports` every listener's first port by kind (smtp, web, proxy). `extraArgs` are appended to
 * `relaytrap run` (e.g. `--proxy-listen 127.0.0.1:0`), `extraYaml` to the config file.
 */
export async function startRelaytrap({ nodeArgs = [], extraLimits = {}, extraArgs = [], extraYaml = "", startTimeoutMs = 20_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "relaytrap-bench-"));
  const dataDir = join(dir, "data");
  const configFile = join(dir, "config.yaml");
  writeFileSync(configFile, benchConfigYaml(dataDir, extraLimits, extraYaml));
  const proc = spawn(process.execPath, [...nodeArgs, CLI, "run", "--config", configFile, ...extraArgs], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  let out = "";
  let err = "";
  const ports = {};
  proc.stderr.on("data", (d) => (err.length < 65536 ? (err += d) : null));
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`relaytrap did not start within ${startTimeoutMs} ms: ${err}`)), startTimeoutMs);
    proc.stdout.on("data", (d) => {
      out += d;
      if (!/relaytrap: ready/.test(out)) return;
      for (const m of out.matchAll(/listening (\w+) on 127\.0\.0\.1:(\d+)/g)) ports[m[1]] ??= Number(m[2]);
      clearTimeout(timer);
      if (ports.smtp) resolve(ports.smtp);
      else reject(new Error(`relaytrap is ready but listens on no loopback SMTP port: ${out}`));
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`relaytrap exited (${code}) before listening: ${err}`));
    });
  });
  let port;
  try {
    port = await listening;
  } catch (err) {
    await stopProcess(proc, 2000);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  proc.stdout.resume();
  return {
    proc,
    pid: proc.pid,
    port,
    ports,
    dir,
    dataDir,
    stderr: () => err,
    stop: () => stopProcess(proc),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Starts smtp-sink on a free loopback port; it discards everything (no -c, -v, -d/-D). */
export async function startSmtpSink({ maxConnections = 2000 } = {}) {
  const port = await freePort();
  const args = [];
  if (process.getuid?.() === 0) args.push("-u", "nobody"); // smtp-sink refuses to run as root without -u
  args.push("-m", String(maxConnections), `${LOOPBACK}:${port}`, "4096");
  const proc = spawn(SMTP_SINK, args, { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (d) => (err.length < 65536 ? (err += d) : null));
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`smtp-sink exited (${proc.exitCode}): ${err}`);
    if (await probeBanner(port, 500)) return { proc, pid: proc.pid, port, args, stop: () => stopProcess(proc, 3000) };
    await sleep(50);
  }
  await stopProcess(proc, 1000);
  throw new Error(`smtp-sink did not answer on ${port}: ${err}`);
}

/** bench/floor-sink.mjs: a minimal Node SMTP responder (no storage), the floor for any Node server here. */
export async function startNodeFloor() {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(ROOT, "bench", "floor-sink.mjs"), String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (d) => (err.length < 65536 ? (err += d) : null));
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`floor-sink exited (${proc.exitCode}): ${err}`);
    if (await probeBanner(port, 500)) return { proc, pid: proc.pid, port, stop: () => stopProcess(proc, 3000) };
    await sleep(50);
  }
  await stopProcess(proc, 1000);
  throw new Error(`floor-sink did not answer on ${port}: ${err}`);
}

/** Messages (and how many with their body stored) in a relaytrap data dir, read with the project's better-sqlite3. */
export function countStored(dataDir) {
  const require = createRequire(join(ROOT, "package.json"));
  const Database = require("better-sqlite3");
  const db = new Database(join(dataDir, "relaytrap.db"), { readonly: true, fileMustExist: true });
  try {
    const r = db.prepare("SELECT COUNT(*) AS n, COALESCE(SUM(body_stored), 0) AS bodies FROM messages").get();
    const raw = db.prepare("SELECT COUNT(*) AS n FROM message_raw").get();
    return { messages: r.n, bodies: r.bodies, raw: raw.n };
  } finally {
    db.close();
  }
}

/** VmRSS (and VmHWM) of a process in KB, from /proc/PID/status. */
export function rssKb(pid) {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const get = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
  return { rss: get("VmRSS"), hwm: get("VmHWM") };
}

/** CPU ticks (utime + stime, 1/100 s) per thread of a process: Map tid -> { comm, ticks }. */
export function threadTicks(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      out.set(Number(tid), { comm: st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")), ticks: Number(f[11]) + Number(f[12]) });
    } catch {}
  }
  return out;
}

/** CPU ms between two threadTicks snapshots: main thread (tid = pid), busiest other thread, all others. */
export function cpuDelta(pid, before, after) {
  let main = 0;
  let others = 0;
  let busiest = { comm: "", ms: 0 };
  for (const [tid, a] of after) {
    const ms = (a.ticks - (before.get(tid)?.ticks ?? 0)) * 10;
    if (tid === pid) main = ms;
    else {
      others += ms;
      if (ms > busiest.ms) busiest = { comm: a.comm, ms };
    }
  }
  return { main, others, busiest };
}

export function machine() {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpu;
  } catch {}
  return {
    node: process.version,
    cpu,
    cores: cpus().length,
    load: loadavg().map((x) => x.toFixed(2)).join(" "),
    date: new Date().toISOString(),
    tmp: tmpdir(),
    tmpFs: spawnSync("stat", ["-f", "-c", "%T", tmpdir()], { encoding: "utf8" }).stdout?.trim() || "unknown",
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

// ---- real Postfix (open relay for loopback, every transport = discard), built by test/fixtures/postfix/setup-postfix.sh

export const POSTFIX_SETUP = join(ROOT, "test", "fixtures", "postfix", "setup-postfix.sh");
/** Our own instance dir and port, apart from the fixture recorder's /tmp/pfx:10025, so the two never collide. */
export const POSTFIX_DIR = process.env.RELAYTRAP_BENCH_PFX || join(tmpdir(), "relaytrap-bench-pfx");

function postfixCmd(dir, action, timeoutMs = 30_000) {
  return runBounded("/usr/sbin/postfix", ["-c", join(dir, "etc"), action], timeoutMs);
}

/** Whether the instance's master process is alive (its pid file names a live process). */
export function postfixRunning(dir = POSTFIX_DIR) {
  try {
    const pid = Number(readFileSync(join(dir, "spool", "pid", "master.pid"), "utf8").trim());
    if (!pid) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds (once per port) the discard-everything Postfix instance with setup-postfix.sh (needs root) and starts it;
 * resolves with { port, dir, stop() } once it answers 220. Never port 25: a loopback port picked here.
 */
export async function startPostfix({ dir = POSTFIX_DIR } = {}) {
  if (process.getuid?.() !== 0) throw new Error("the Postfix comparison needs root (setup-postfix.sh, postfix start)");
  if (postfixRunning(dir)) await stopPostfix(dir);
  const portFile = join(dir, "bench-port");
  let port = existsSync(portFile) ? Number(readFileSync(portFile, "utf8")) : 0;
  if (!port || !(await portFree(port))) {
    port = await freePort();
    const r = await runBounded("/bin/sh", ["-c", `PFX='${dir}' PORT=${port} sh '${POSTFIX_SETUP}'`], 120_000);
    if (r.code !== 0) throw new Error(`setup-postfix.sh failed (${r.code ?? r.signal}): ${r.stderr.slice(-2000)}`);
    writeFileSync(portFile, String(port));
  }
  writeFileSync(join(dir, "maillog"), ""); // postlogd's log of the last run only (a full --postfix run writes ~250 MB)
  const r = await postfixCmd(dir, "start");
  if (r.code !== 0) throw new Error(`postfix start failed: ${r.stderr.trim()}`);
  for (let i = 0; i < 200; i++) {
    if (await probeBanner(port, 500)) return { port, dir, stop: () => stopPostfix(dir) };
    await sleep(50);
  }
  await stopPostfix(dir);
  throw new Error(`Postfix did not answer on 127.0.0.1:${port}`);
}

/** `postfix stop` (abort after 20 s), then waits until the master process is gone; no daemon is left running. */
export async function stopPostfix(dir = POSTFIX_DIR) {
  if (!postfixRunning(dir)) return;
  await postfixCmd(dir, "stop", 20_000);
  for (let i = 0; i < 200 && postfixRunning(dir); i++) await sleep(100);
  if (postfixRunning(dir)) await postfixCmd(dir, "abort", 10_000);
  for (let i = 0; i < 50 && postfixRunning(dir); i++) await sleep(100);
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, LOOPBACK, () => s.close(() => resolve(true)));
  });
}

export const RESULTS = join(ROOT, "bench", "RESULTS.md");
const HISTORY_DIR = join(ROOT, "bench", "history");

/**
 * Records one run's markdown. Every run is appended to bench/history/<YYYY-MM>.md (newest last). A run that stands
 * for the product (`current`: a full run, not --quick, not --only) also replaces the block of its benchmark at the
 * top of bench/RESULTS.md, between `<!-- current:ID -->` and `<!-- /current:ID -->`, so that file opens with the
 * latest table of each benchmark. Returns the paths written.
 */
export function recordResult(id, md, { current }) {
  mkdirSync(HISTORY_DIR, { recursive: true });
  const month = new Date().toISOString().slice(0, 7);
  const history = join(HISTORY_DIR, `${month}.md`);
  if (!existsSync(history)) writeFileSync(history, `# relaytrap benchmark runs, ${month}\n\nAppended by the scripts in \`bench/\`; newest last.\n\n`);
  appendFileSync(history, md.trimEnd() + "\n\n");
  const written = [history];
  if (current && existsSync(RESULTS)) {
    const text = readFileSync(RESULTS, "utf8");
    const open = `<!-- current:${id} -->`;
    const close = `<!-- /current:${id} -->`;
    const a = text.indexOf(open);
    const b = text.indexOf(close);
    if (a >= 0 && b > a) {
      writeFileSync(RESULTS, text.slice(0, a + open.length) + "\n" + md.trim().replace(/^###? /, "### ") + "\n" + text.slice(b));
      written.push(RESULTS);
    }
  }
  return written;
}
