#!/usr/bin/env node
// Idle connections (issue 8 item 11): relaytrap's RSS per idle connection at 10,000 connections, and the largest number
// of concurrent idle sessions it holds before a real client's sessions degrade (the ramp).
//
//   node bench/idle.mjs [--connections N] [--batch N] [--sources N] [--no-ramp] [--no-append]
//       RSS before/after N idle connections (default 10,000), then a short ramp: real sessions with 0 and N held.
//   node bench/idle.mjs --quick            = --connections 2000 (what `npm run bench` runs)
//   node bench/idle.mjs --ramp [--max-connections N] [--steps 0,2000,...] [--sources N] [--keep-going]
//                              [--time-limit S] [--no-append]
//       ramp only: hold 0, 2k, 5k, 10k, 15k, 19k, 20k, 30k ... idle connections (capped by --max-connections) and at each
//       step time 50 sequential + 10 concurrent full SMTP sessions and 50 new banners; stops at the first degraded step.
// --sources N spreads the idle clients over 127.0.0.1..127.0.0.N (each source address has ~28k ephemeral ports).
// Idle connections of the ramp are held by child processes (this file with --holder, ≤ 15,000 each) so that the
// benchmark's own fd limit is not what stops it; the timed clients run in this process from 127.0.2.1.
import { fork } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { get as httpGet } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { CLI, ROOT, SMTP_SOURCE, exited, machine, recordResult, requireBuilt, rssKb, runBounded, sleep, startRelaytrap, threadTicks } from "./lib.mjs";

const TARGET_KB = 12;
/** Degradation, checked at every ramp step against the step with 0 idle connections (the baseline). */
const DEGRADED = {
  latencyFactor: 3, // p95 of the sequential sessions, or the median of the concurrent ones, > 3× the baseline's ...
  latencyFloorMs: 50, // ... and more than 50 ms above it (a 3 ms → 10 ms wobble on a busy box is not degradation)
  bannerMaxMs: 1000, // any new connection waiting longer than 1 s for its 220
};
const PROBE_ADDR = "127.0.2.1"; // the timed client; never one of the idle sources 127.0.0.x
const PER_HOLDER = 15_000;
const SESSION_TIMEOUT_MS = 15_000;
const DEFAULT_STEPS = [0, 2000, 5000, 10_000, 15_000, 19_000, 20_000, 30_000, 40_000, 50_000];
const log = (s) => process.stderr.write(s + "\n");

function usage(code) {
  process.stderr.write(
    "usage: node bench/idle.mjs [--connections N] [--batch N] [--sources N] [--quick] [--no-ramp] [--no-append]\n" +
      "       node bench/idle.mjs --ramp [--max-connections N] [--steps A,B,...] [--sources N] [--sessions N] [--concurrent N]\n" +
      "                          [--banners N] [--keep-going] [--time-limit S] [--batch N] [--no-append]\n",
  );
  process.exit(code);
}

function parseArgs(argv) {
  const o = {
    ...{ connections: 10_000, batch: 500, sources: null, append: true, ramp: false, shortRamp: true, maxConnections: 30_000, steps: null },
    ...{ sessions: null, concurrent: null, banners: null, keepGoing: false, timeLimitS: null },
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--connections") o.connections = Number(argv[++i]);
    else if (a === "--quick") (o.connections = 2000), (o.quick = true);
    else if (a === "--batch") o.batch = Number(argv[++i]);
    else if (a === "--sources") o.sources = Number(argv[++i]);
    else if (a === "--no-append") o.append = false;
    else if (a === "--no-ramp") o.shortRamp = false;
    else if (a === "--ramp") o.ramp = true;
    else if (a === "--max-connections") o.maxConnections = Number(argv[++i]);
    else if (a === "--steps") o.steps = String(argv[++i]).split(",").map(Number);
    else if (a === "--sessions") o.sessions = Number(argv[++i]);
    else if (a === "--concurrent") o.concurrent = Number(argv[++i]);
    else if (a === "--banners") o.banners = Number(argv[++i]);
    else if (a === "--keep-going") o.keepGoing = true;
    else if (a === "--time-limit") o.timeLimitS = Number(argv[++i]);
    else usage(a === "-h" || a === "--help" ? 0 : 2);
  }
  const bad = (n, min, max) => !Number.isInteger(n) || n < min || n > max;
  if (o.ramp && o.steps) o.steps = o.steps.filter((n) => n <= o.maxConnections);
  else if (o.ramp) {
    o.steps = DEFAULT_STEPS.filter((n) => n <= o.maxConnections);
    if (o.maxConnections > o.steps[o.steps.length - 1]) o.steps.push(o.maxConnections);
  } else o.steps = o.shortRamp ? [0, o.connections] : [];
  o.sessions ??= o.ramp ? 50 : 20;
  o.concurrent ??= o.ramp ? 10 : 5;
  o.banners ??= o.ramp ? 50 : 20;
  o.concRounds = o.ramp ? 3 : 1;
  o.reruns = o.ramp ? 2 : 1;
  o.timeLimitS ??= o.ramp ? 900 : 80;
  const top = Math.max(o.ramp ? 0 : o.connections, ...o.steps);
  // ~28k ephemeral ports per source address; keep each source at ≤ 15k held connections.
  o.sources ??= Math.max(1, Math.ceil(top / 15_000));
  const sortedSteps = o.steps.every((n, i) => i === 0 || n > o.steps[i - 1]);
  if (
    bad(o.connections, 1, 15_000) || bad(o.batch, 1, 5000) || bad(o.sources, 1, 250) || bad(o.maxConnections, 1, 200_000) ||
    !sortedSteps || (o.ramp && o.steps.length === 0) || o.steps.some((n) => bad(n, 0, 200_000)) || bad(o.sessions, 5, 1000) || bad(o.concurrent, 1, 200) ||
    bad(o.banners, 5, 1000) || bad(o.timeLimitS, 30, 3600)
  ) {
    process.stderr.write(
      "idle: --connections 1..15000, --batch 1..5000, --sources 1..250, --max-connections 1..200000, --steps increasing 0..200000,\n" +
        "      --sessions 5..1000, --concurrent 1..200, --banners 5..1000, --time-limit 30..3600 (s)\n",
    );
    process.exit(2);
  }
  return o;
}

/** Opens one connection; resolves true once a 220 banner line arrived, false on error/close/timeout. Stays open. */
function openIdle(port, localAddress, sockets, timeoutMs) {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port, localAddress });
    sockets.push(s);
    let buf = "";
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    s.setEncoding("latin1");
    s.on("data", (d) => {
      if (buf.length < 4096) buf += d;
      if (buf.includes("\n")) settle(buf.startsWith("220"));
    });
    s.on("error", () => settle(false));
    s.on("close", () => settle(false));
  });
}

// ---- what is running, so that every exit path (error, deadline, SIGTERM from all.mjs) can stop it ------------------

const live = { rt: null, sockets: [], holders: [], tearing: null };

function teardown() {
  live.tearing ??= (async () => {
    for (const s of live.sockets) s.destroy();
    live.sockets.length = 0;
    await Promise.all(live.holders.map((h) => h.close()));
    live.holders.length = 0;
    await sleep(200); // let the sensor see the closes before SIGTERM
    if (live.rt) {
      const ex = await live.rt.stop();
      if (ex.code !== 0) log(`relaytrap exit ${ex.code ?? ex.signal}: ${live.rt.stderr().slice(-2000)}`);
      live.rt.cleanup();
      live.rt = null;
    }
  })();
  return live.tearing;
}

for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.once(sig, () => {
    log(`idle: ${sig}, cleaning up`);
    const hard = setTimeout(() => process.exit(1), 30_000);
    hard.unref();
    teardown().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  });
}

// ---- RSS per idle connection -------------------------------------------------------------------------------------

async function measureRss(o, rt) {
  const before = rssKb(rt.pid);
  log(`relaytrap pid ${rt.pid} port ${rt.port}: RSS before ${before.rss} KB`);
  const sockets = live.sockets;
  const t0 = Date.now();
  const deadline = t0 + 120_000;
  let bannered = 0;
  for (let i = 0; i < o.connections && Date.now() < deadline; i += o.batch) {
    const n = Math.min(o.batch, o.connections - i);
    const batch = [];
    for (let j = 0; j < n; j++) batch.push(openIdle(rt.port, `127.0.0.${((i + j) % o.sources) + 1}`, sockets, 30_000));
    const oks = await Promise.all(batch);
    bannered += oks.filter(Boolean).length;
    if ((i / o.batch) % 4 === 3) log(`  ${i + n} connections, ${bannered} with banner, RSS ${rssKb(rt.pid).rss} KB`);
  }
  const openMs = Date.now() - t0;
  await sleep(3000);
  const samples = [];
  for (let k = 0; k < 3; k++) {
    samples.push(rssKb(rt.pid).rss);
    await sleep(500);
  }
  const after = Math.max(...samples);
  const hwm = rssKb(rt.pid).hwm;
  const stillOpen = sockets.filter((s) => !s.destroyed && s.readyState === "open").length;
  for (const s of sockets) s.destroy();
  sockets.length = 0;
  await sleep(3000);
  const afterClose = rssKb(rt.pid).rss;
  return { before: before.rss, after, hwm, afterClose, bannered, stillOpen, openMs, perConnKb: (after - before.rss) / o.connections };
}

function rssMarkdown(o, env, r) {
  return [
    `### Idle connections, ${env.date}`,
    "",
    `- command: \`${["node bench/idle.mjs", ...process.argv.slice(2)].join(" ")}\`; node ${env.node}; CPU: ${env.cpu} x ${env.cores}; load average at start ${env.load}`,
    `- relaytrap started with a fresh data dir, warmed up with 200 messages (\`smtp-source -s 10 -m 200 -l 2048\`), 3 s settle; ` +
      `then ${o.connections} connections from this process in batches of ${o.batch} (client addresses 127.0.0.1..${o.sources}), each reads the banner and idles; 3 s settle, RSS = max of 3 samples of VmRSS`,
    `- sensor: \`${CLI}\``,
    "",
    "| connections | with banner | still open at measurement | RSS before | RSS after | RSS after closing all | KB per idle connection | ≤ 12 KB |",
    "|---:|---:|---:|---:|---:|---:|---:|:-:|",
    `| ${o.connections} | ${r.bannered} | ${r.stillOpen} | ${(r.before / 1024).toFixed(1)} MB | ${(r.after / 1024).toFixed(1)} MB | ${(r.afterClose / 1024).toFixed(1)} MB | ${r.perConnKb.toFixed(1)} | ${r.perConnKb <= TARGET_KB ? "yes" : "**no**"} |`,
    "",
    `(opening the connections and waiting for their banners took ${(r.openMs / 1000).toFixed(1)} s; VmHWM ${(r.hwm / 1024).toFixed(1)} MB)`,
    "",
  ].join("\n");
}

// ---- holders: child processes that keep idle connections open ----------------------------------------------------

/** `node bench/idle.mjs --holder`: opens idle connections when told (IPC), reports how many are still open, closes all. */
function holderMain() {
  const sockets = new Set();
  let lost = 0;
  const ttl = Number(process.argv[3]) || 3_600_000;
  const quit = () => {
    for (const s of sockets) s.destroy();
    process.exit(0);
  };
  setTimeout(quit, ttl).unref(); // never outlives the run, even if the parent vanished without a disconnect
  process.on("disconnect", quit);
  function open(port, localAddress, timeoutMs) {
    return new Promise((resolve) => {
      const s = connect({ host: "127.0.0.1", port, localAddress });
      let buf = "";
      let state = "wait"; // wait -> open | failed
      const timer = setTimeout(() => settle(false, "timeout"), timeoutMs);
      function settle(ok, err) {
        if (state !== "wait") return;
        clearTimeout(timer);
        state = ok ? "open" : "failed";
        if (ok) sockets.add(s);
        else s.destroy();
        resolve(err ?? null);
      }
      s.setEncoding("latin1");
      s.on("data", (d) => {
        if (state !== "wait") return;
        buf += d;
        if (buf.includes("\n")) settle(buf.startsWith("220"), buf.startsWith("220") ? null : `reply ${buf.slice(0, 3)}`);
        else if (buf.length > 4096) settle(false, "no banner line");
      });
      s.on("error", (e) => settle(false, e.code ?? "error"));
      s.on("close", () => {
        if (state === "open") {
          sockets.delete(s);
          lost++;
        }
        settle(false, "closed before banner");
      });
    });
  }
  process.on("message", async (m) => {
    if (m.op === "open") {
      const t0 = Date.now();
      const errs = {};
      let ok = 0;
      let tried = 0;
      for (let i = 0; i < m.n && Date.now() < m.deadline; i += m.batch) {
        const k = Math.min(m.batch, m.n - i);
        tried += k;
        const batch = [];
        for (let j = 0; j < k; j++) batch.push(open(m.port, `127.0.0.${((m.from + i + j) % m.sources) + 1}`, m.timeoutMs));
        for (const err of await Promise.all(batch)) {
          if (err === null) ok++;
          else errs[err] = (errs[err] ?? 0) + 1;
        }
      }
      if (tried < m.n) errs["not tried (time limit)"] = m.n - tried;
      process.send({ id: m.id, ok, failed: m.n - ok, errs, ms: Date.now() - t0, open: sockets.size, lost });
    } else if (m.op === "status") process.send({ id: m.id, open: sockets.size, lost });
    else if (m.op === "close") {
      for (const s of sockets) s.destroy();
      sockets.clear();
      process.send({ id: m.id, closed: true }, () => process.exit(0));
    }
  });
  process.send({ ready: true });
}

/** Forks a holder; resolves with { proc, ask(msg, timeoutMs), close() }. */
async function startHolder(ttlMs) {
  const proc = fork(fileURLToPath(import.meta.url), ["--holder", String(ttlMs)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let seq = 0;
  const waiting = new Map();
  proc.on("message", (m) => {
    const w = waiting.get(m.id);
    if (w) {
      waiting.delete(m.id);
      w(m);
    }
  });
  proc.once("exit", () => {
    for (const w of waiting.values()) w(null);
    waiting.clear();
  });
  const ready = await new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), 10_000);
    proc.once("message", (m) => (clearTimeout(t), resolve(m?.ready === true)));
    proc.once("exit", () => (clearTimeout(t), resolve(false)));
  });
  const h = {
    proc,
    held: 0,
    ask(msg, timeoutMs) {
      if (proc.exitCode !== null || proc.signalCode !== null || !proc.connected) return Promise.resolve(null);
      const id = ++seq;
      return new Promise((resolve) => {
        const t = setTimeout(() => (waiting.delete(id), resolve(null)), timeoutMs);
        waiting.set(id, (m) => (clearTimeout(t), resolve(m)));
        proc.send({ ...msg, id });
      });
    },
    async close() {
      await h.ask({ op: "close" }, 10_000);
      let t;
      await Promise.race([exited(proc), new Promise((r) => (t = setTimeout(r, 5000)))]);
      clearTimeout(t);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await exited(proc);
    },
  };
  if (!ready) {
    proc.kill("SIGKILL");
    throw new Error("holder process did not start");
  }
  return h;
}

// ---- the timed client ---------------------------------------------------------------------------------------------

const BODY = (() => {
  const head = [
    "From: <probe@bench.invalid>",
    "To: <rcpt@remote.invalid>",
    "Subject: idle ramp probe",
    "Date: Fri, 27 Nov 2026 12:00:00 +0000",
    "Message-ID: <probe@bench.invalid>",
    "",
  ];
  const line = "abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijk"; // 76 bytes + CRLF = 78
  const body = Array.from({ length: 27 }, () => line); // 27 × 78 = 2106 bytes ≈ 2 KB
  return [...head, ...body].join("\r\n") + "\r\n.";
})();
const SCRIPT = [
  [null, "220"],
  ["EHLO probe.bench.invalid", "250"],
  ["MAIL FROM:<probe@bench.invalid>", "250"],
  ["RCPT TO:<rcpt@remote.invalid>", "250"],
  ["DATA", "354"],
  [BODY, "250"],
  ["QUIT", "221"],
];

/** One full SMTP session from PROBE_ADDR: banner → EHLO → MAIL → RCPT → DATA → 2 KB → 250 → QUIT → 221. */
function smtpSession(port, timeoutMs = SESSION_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let bannerMs = NaN;
    let step = 0;
    let buf = "";
    let done = false;
    const s = connect({ host: "127.0.0.1", port, localAddress: PROBE_ADDR });
    const timer = setTimeout(() => finish(`timeout after ${SCRIPT[step][0]?.split(" ")[0] ?? "connect"}`), timeoutMs);
    function finish(err) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ ok: !err, err, ms: performance.now() - t0, bannerMs });
    }
    s.setEncoding("latin1");
    s.on("error", (e) => finish(e.code ?? "error"));
    s.on("close", () => finish(`closed at step ${step}`));
    s.on("data", (d) => {
      buf += d;
      for (;;) {
        const nl = buf.indexOf("\n");
        if (nl < 0) break;
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        if (/^\d{3}-/.test(line)) continue; // continuation of a multi-line reply
        const want = SCRIPT[step][1];
        if (!line.startsWith(want)) return finish(`${SCRIPT[step][0]?.split(" ")[0] ?? "banner"}: ${line.slice(0, 60)}`);
        if (step === 0) bannerMs = performance.now() - t0;
        step++;
        if (step === SCRIPT.length) return finish(null);
        s.write(SCRIPT[step][0] + "\r\n");
      }
      if (buf.length > 65536) finish("reply too long");
    });
  });
}

/** A new connection from PROBE_ADDR: ms until the 220 line, then QUIT. */
function bannerProbe(port, timeoutMs = 10_000) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const s = connect({ host: "127.0.0.1", port, localAddress: PROBE_ADDR });
    let buf = "";
    let done = false;
    const timer = setTimeout(() => finish("timeout"), timeoutMs);
    function finish(err) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (err) s.destroy();
      else s.end("QUIT\r\n");
      setTimeout(() => s.destroy(), 1000).unref();
      resolve({ ok: !err, err, ms });
    }
    s.setEncoding("latin1");
    s.on("error", (e) => finish(e.code ?? "error"));
    s.on("close", () => finish("closed before banner"));
    s.on("data", (d) => {
      buf += d;
      if (buf.includes("\n")) finish(buf.startsWith("220") ? null : `reply ${buf.slice(0, 3)}`);
    });
  });
}

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const stats = (xs) => ({ p50: pct(xs, 50), p95: pct(xs, 95), max: xs.length ? Math.max(...xs) : NaN });
const countErrs = (rs) => rs.filter((r) => !r.ok).reduce((m, r) => ((m[r.err] = (m[r.err] ?? 0) + 1), m), {});

/** The timed part of a step: sequential sessions, concurrent sessions, sequential new banners. */
async function probe(port, o) {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const seq = [];
  for (let i = 0; i < o.sessions; i++) seq.push(await smtpSession(port));
  const conc = [];
  for (let r = 0; r < o.concRounds; r++) conc.push(...(await Promise.all(Array.from({ length: o.concurrent }, () => smtpSession(port)))));
  const ban = [];
  for (let i = 0; i < o.banners; i++) ban.push(await bannerProbe(port));
  lag.disable();
  const okMs = (rs) => rs.filter((r) => r.ok).map((r) => r.ms);
  return {
    seq: stats(okMs(seq)),
    conc: stats(okMs(conc)),
    banner: stats([...okMs(ban), ...seq.filter((r) => r.ok).map((r) => r.bannerMs)]),
    failed: seq.length + conc.length + ban.length - okMs(seq).length - okMs(conc).length - okMs(ban).length,
    errs: countErrs([...seq, ...conc, ...ban]),
    benchLagMaxMs: lag.max / 1e6,
  };
}

// ---- sensor-side readings -----------------------------------------------------------------------------------------

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function nofileLimit(pid = "self") {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
  return { soft: m?.[1] ?? "?", hard: m?.[2] ?? "?" };
}

/** relaytrap_smtp_active_connections from the sensor's /metrics (NaN if the web listener does not answer). */
function activeSessions(webPort) {
  return new Promise((resolve) => {
    if (!webPort) return resolve(NaN);
    const req = httpGet({ host: "127.0.0.1", port: webPort, path: "/metrics", timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body.length < 1_000_000 ? (body += d) : null));
      res.on("end", () => resolve(Number(/^relaytrap_smtp_active_connections (\d+)/m.exec(body)?.[1] ?? NaN)));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(NaN));
    req.on("close", () => resolve(NaN)); // no-op once the response resolved

  });
}

// ---- the ramp -----------------------------------------------------------------------------------------------------

function degradedBy(row, base) {
  const why = [];
  if (row.openFailed > 0) why.push(`${row.openFailed} of the new idle connections got no banner (${fmtErrs(row.openErrs)})`);
  if (row.lost > 0) why.push(`${row.lost} held connections closed by the sensor`);
  if (row.p.failed > 0) why.push(`${row.p.failed} timed sessions/banners failed (${fmtErrs(row.p.errs)})`);
  if (row.p.banner.max > DEGRADED.bannerMaxMs) why.push(`a banner took ${row.p.banner.max.toFixed(0)} ms`);
  if (base) {
    const lim = (b) => Math.max(DEGRADED.latencyFactor * b, b + DEGRADED.latencyFloorMs);
    if (row.p.seq.p95 > lim(base.seq.p95)) why.push(`session p95 ${row.p.seq.p95.toFixed(0)} ms > ${lim(base.seq.p95).toFixed(0)} ms`);
    if (row.p.conc.p50 > lim(base.conc.p50)) why.push(`concurrent p50 ${row.p.conc.p50.toFixed(0)} ms > ${lim(base.conc.p50).toFixed(0)} ms`);
  }
  return why;
}
const fmtErrs = (e) => Object.entries(e).map(([k, v]) => `${k} ×${v}`).join(", ") || "-";

async function ramp(o, rt, deadlineAt) {
  const rows = [];
  const ttl = deadlineAt - Date.now() + 120_000;
  let held = 0; // connections asked of the holders so far (successful or not)
  let base = null;
  let rss0 = null;
  const settleMs = o.ramp ? 3000 : 1500;
  for (let si = 0; si < o.steps.length; si++) {
    const target = o.steps[si];
    if (Date.now() > deadlineAt - 20_000) {
      log(`idle ramp: time limit reached before step ${target}`);
      break;
    }
    // 1. open the step's new idle connections, filling holders of ≤ PER_HOLDER each
    const t0 = Date.now();
    let openFailed = 0;
    const openErrs = {};
    while (held < target && Date.now() < deadlineAt - 15_000) {
      let h = live.holders.find((x) => x.held < PER_HOLDER);
      if (!h) {
        h = await startHolder(ttl);
        live.holders.push(h);
      }
      const n = Math.min(target - held, PER_HOLDER - h.held);
      const stepDeadline = Math.min(deadlineAt - 15_000, Date.now() + 180_000);
      const r = await h.ask({ op: "open", port: rt.port, from: held, n, sources: o.sources, batch: o.batch, timeoutMs: 30_000, deadline: stepDeadline }, stepDeadline - Date.now() + 40_000);
      if (!r) throw new Error("a holder process did not answer");
      h.held += n;
      held += n;
      openFailed += r.failed;
      for (const [k, v] of Object.entries(r.errs)) openErrs[k] = (openErrs[k] ?? 0) + v;
    }
    const openMs = Date.now() - t0;
    // 2. settle, then sensor RSS/fds/CPU while only idle connections exist
    const ticks0 = threadTicks(rt.pid);
    await sleep(settleMs);
    const cpuMs = (() => {
      const a = threadTicks(rt.pid).get(rt.pid)?.ticks ?? NaN;
      return (a - (ticks0.get(rt.pid)?.ticks ?? NaN)) * 10;
    })();
    const samples = [];
    for (let k = 0; k < 3; k++) {
      samples.push(rssKb(rt.pid).rss);
      await sleep(300);
    }
    const rss = Math.max(...samples);
    const fds = fdCount(rt.pid);
    const statuses = await Promise.all(live.holders.map((h) => h.ask({ op: "status" }, 10_000)));
    const open = statuses.reduce((a, s) => a + (s?.open ?? 0), 0);
    const lost = statuses.reduce((a, s) => a + (s?.lost ?? 0), 0);
    const active = await activeSessions(rt.ports.web);
    // 3. the timed client. On a shared box a stall elsewhere (CPU, fsync) can make one measurement slow, so a step
    // degraded on latency alone is measured again, up to o.reruns times, and counts only if every measurement is.
    let p = await probe(rt.port, o);
    const row = { target, open, active, openFailed, openErrs, lost, openMs, rss, fds, cpuPct: (cpuMs / settleMs) * 100, load: machine().load.split(" ")[0], p, earlier: [] };
    let why = degradedBy(row, base);
    const latencyOnly = () => row.openFailed === 0 && row.lost === 0 && row.p.failed === 0 && row.p.banner.max <= DEGRADED.bannerMaxMs;
    for (let k = 0; k < o.reruns && why.length && base && latencyOnly(); k++) {
      log(`  step ${target}: ${why.join("; ")}; measuring again`);
      row.earlier.push(row.p);
      row.p = p = await probe(rt.port, o);
      why = degradedBy(row, base);
    }
    row.why = why;
    rss0 ??= rss;
    row.kbPerConn = open > 0 ? (rss - rss0) / open : NaN;
    rows.push(row);
    log(
      `  step ${target}: ${open} held (sensor: ${active} active), open ${(openMs / 1000).toFixed(1)} s, RSS ${(rss / 1024).toFixed(1)} MB, fds ${fds}, ` +
        `session p50/p95/max ${p.seq.p50.toFixed(1)}/${p.seq.p95.toFixed(1)}/${p.seq.max.toFixed(1)} ms, concurrent p50/max ${p.conc.p50.toFixed(1)}/${p.conc.max.toFixed(1)} ms, ` +
        `banner p95/max ${p.banner.p95.toFixed(1)}/${p.banner.max.toFixed(1)} ms, failed ${p.failed}${why.length ? `; DEGRADED: ${why.join("; ")}` : ""}`,
    );
    if (rows.length === 1 && !why.length) base = p;
    if (rows.length === 1 && Number.isFinite(fds) && o.ramp) {
      // With ulimit -n below the cap, add the last step that still fits: the limit minus the sensor's own files and
      // room for the timed client, so the table shows the fd limit plainly instead of falling between two round steps.
      const fit = Number(nofileLimit(rt.pid).soft) - fds - 2 * o.concurrent - 20;
      if (fit > 0 && fit < o.steps[o.steps.length - 1] && !o.steps.includes(fit)) {
        o.steps.push(fit);
        o.steps.sort((a, b) => a - b);
        log(`  sensor open-files limit ${nofileLimit(rt.pid).soft}, ${fds} open at rest: step ${fit} added`);
      }
    }
    if (why.length && !o.keepGoing) break;
  }
  // Does the sensor recover once the idle connections are gone?
  let recovered = null;
  if (rows.length > 1 && Date.now() < deadlineAt) {
    await Promise.all(live.holders.map((h) => h.close()));
    live.holders.length = 0;
    await sleep(2000);
    const rs = [];
    for (let i = 0; i < 5; i++) rs.push(await smtpSession(rt.port));
    recovered = { ok: rs.filter((r) => r.ok).length, n: rs.length, errs: countErrs(rs) };
    log(`  after closing the idle connections: ${recovered.ok}/${recovered.n} sessions ok`);
  }
  return { rows, recovered };
}

function rampMarkdown(o, env, rows, extra) {
  const f = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : "–");
  const firstBad = rows.findIndex((r) => r.why.length);
  const okRows = firstBad < 0 ? rows : rows.slice(0, firstBad);
  const lastOk = okRows.length ? okRows[okRows.length - 1].target : null;
  const topStep = o.steps[o.steps.length - 1];
  let verdict;
  if (rows.length === 0) verdict = "no step measured";
  else if (rows[0].why.length) verdict = `**degraded already without idle connections** (${rows[0].why.join("; ")}); no maximum can be given`;
  else if (firstBad < 0)
    verdict = `no degradation up to the largest step measured, **${lastOk.toLocaleString("en")}** idle connections` +
      (lastOk < topStep
        ? ` (stopped by the time limit before ${topStep.toLocaleString("en")})`
        : o.ramp
          ? " (the cap; the limit lies beyond it)"
          : " (the short run's only step; `--ramp` looks for the limit)");
  else verdict = `max concurrent idle sessions before degradation: **${lastOk.toLocaleString("en")}** (next step ${rows[firstBad].target.toLocaleString("en")}: ${rows[firstBad].why.join("; ")})`;
  const title = o.ramp ? "Idle connections: ramp (max concurrent sessions before degradation)" : "Idle connections: short ramp (sessions while idle connections are held)";
  const md = [
    `### ${title}, ${env.date}`,
    "",
    `- command: \`${["node bench/idle.mjs", ...process.argv.slice(2)].join(" ")}\`; node ${env.node}; CPU: ${env.cpu} x ${env.cores}; load average at start ${env.load}, at end ${machine().load}`,
    `- sensor: \`${CLI}\`; limits.maxSessions = maxSessionsPerIp = ${extra.maxSessions}, idleTimeoutMs ${extra.idleTimeoutMs}; ` +
      `open-files limit (soft/hard): sensor ${extra.sensorNofile.soft}/${extra.sensorNofile.hard}, holders ${extra.benchNofile.soft}/${extra.benchNofile.hard}; ephemeral ports ${extra.portRange}`,
    `- method: ${o.ramp ? "fresh sensor warmed up with 200 messages" : "the sensor of the RSS measurement above, its connections closed"}; at each step child processes (≤ ${PER_HOLDER.toLocaleString("en")} connections each) ` +
      `open the step's new idle connections in batches of ${o.batch} from 127.0.0.1..${o.sources}, each reads its 220 and idles; ${o.ramp ? 3 : 1.5} s settle (sensor main-thread CPU measured here), RSS = max of 3 VmRSS samples; ` +
      `then from ${PROBE_ADDR}: ${o.sessions} sequential full sessions (banner, EHLO, MAIL, RCPT, DATA, 2 KB body, 250, QUIT, 221; ${SESSION_TIMEOUT_MS / 1000} s timeout), ` +
      `${o.concRounds > 1 ? `${o.concRounds} rounds of ` : ""}${o.concurrent} concurrent ones, and ${o.banners} new connections timed to their 220 (banner column: these plus the sessions' banners)`,
    `- degraded = any new idle connection without a banner, any held one closed, any timed session or banner failed, any banner > ${DEGRADED.bannerMaxMs} ms, ` +
      `or sequential p95 / concurrent p50 > max(${DEGRADED.latencyFactor}× the 0-connection step's, the 0-connection step's + ${DEGRADED.latencyFloorMs} ms); ` +
      `a step degraded on latency alone is measured up to ${o.reruns} more time${o.reruns > 1 ? "s" : ""} and counts only if every measurement is (the last one is shown)`,
    "",
    `| idle held | sensor active | opening | sensor fds | RSS | KB / conn vs 0 | session p50 / p95 / max ms (${o.sessions} seq.) | ${o.concurrent} concurrent${o.concRounds > 1 ? ` ×${o.concRounds}` : ""} p50 / max ms | banner p50 / p95 / max ms | failed | sensor CPU idle | bench lag max | load 1m | degraded? |`,
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ...rows.map((r) =>
      [
        "",
        `${r.open.toLocaleString("en")}${r.open !== r.target ? ` of ${r.target.toLocaleString("en")}` : ""}`,
        Number.isFinite(r.active) ? r.active.toLocaleString("en") : "–",
        r.target ? `${(r.openMs / 1000).toFixed(1)} s` : "–",
        r.fds,
        `${(r.rss / 1024).toFixed(1)} MB`,
        f(r.kbPerConn),
        `${f(r.p.seq.p50)} / ${f(r.p.seq.p95)} / ${f(r.p.seq.max)}`,
        `${f(r.p.conc.p50)} / ${f(r.p.conc.max)}`,
        `${f(r.p.banner.p50)} / ${f(r.p.banner.p95)} / ${f(r.p.banner.max)}`,
        r.p.failed,
        `${r.cpuPct.toFixed(0)}%`,
        `${f(r.benchLagMaxMs ?? r.p.benchLagMaxMs)} ms`,
        r.load,
        (r.why.length ? `**yes**: ${r.why.join("; ")}` : "no") + (r.earlier.length ? ` (measurement ${r.earlier.length + 1}; before: ${r.earlier.map((e) => `p95 ${f(e.seq.p95)}, conc. p50 ${f(e.conc.p50)} ms`).join("; ")})` : ""),
        "",
      ].join(" | ").trim(),
    ),
    "",
    `Verdict: ${verdict}.` +
      (extra.recovered ? ` After closing the idle connections: ${extra.recovered.ok} of ${extra.recovered.n} sessions ok${extra.recovered.ok < extra.recovered.n ? ` (${fmtErrs(extra.recovered.errs)})` : ""}.` : ""),
    "",
  ].join("\n");
  return { md, ok: rows.length > 0 && !rows[0].why.length };
}

// ---- main ---------------------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  requireBuilt();
  const env = machine();
  const deadlineAt = Date.now() + o.timeLimitS * 1000 + (o.ramp ? 0 : 150_000); // the RSS part has its own 120 s bound
  const watchdog = setTimeout(() => {
    log(`idle: overall deadline passed, cleaning up`);
    teardown().finally(() => process.exit(1));
  }, deadlineAt - Date.now() + 60_000);
  watchdog.unref();

  const top = Math.max(o.ramp ? 0 : o.connections, ...o.steps);
  const extra = {
    maxSessions: Math.max(12_000, top + 2000),
    idleTimeoutMs: 2 * 3_600_000, // the sensor's default 300 s would close held connections during a long ramp
    benchNofile: nofileLimit(),
    portRange: readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().replace(/\s+/, "–"),
  };
  live.rt = await startRelaytrap({
    // The held connections are the measurement: no stress timeout (limits.stressIdleTimeoutMs) cuts them short either.
    extraLimits: { maxSessions: extra.maxSessions, maxSessionsPerIp: extra.maxSessions, idleTimeoutMs: extra.idleTimeoutMs, stressIdleTimeoutMs: extra.idleTimeoutMs, sessionTimeoutMs: 2 * extra.idleTimeoutMs },
  });
  const rt = live.rt;
  extra.sensorNofile = nofileLimit(rt.pid);
  if (top > Number(extra.sensorNofile.soft) - 100)
    log(`idle: note: the sensor may open only ${extra.sensorNofile.soft} files (ulimit -n; hard ${extra.sensorNofile.hard}), fewer than ${top} connections + its own files`);
  let rss = null;
  let rows = [];
  let recovered = null;
  try {
    // Warm-up: a few messages through the whole path (parse, analyze, store), then let it settle.
    const warm = await runBounded(SMTP_SOURCE, ["-s", "10", "-m", "200", "-l", "2048", "-f", "a@bench.invalid", "-t", "b@remote.invalid", `127.0.0.1:${rt.port}`], 60_000);
    if (warm.code !== 0) throw new Error(`warm-up smtp-source failed: ${warm.stderr}`);
    await sleep(3000);
    if (!o.ramp) rss = await measureRss(o, rt);
    if (o.steps.length) ({ rows, recovered } = await ramp(o, rt, deadlineAt));
  } finally {
    await teardown();
    clearTimeout(watchdog);
  }

  let out = "";
  if (rss) out += rssMarkdown(o, env, rss) + "\n";
  let rampOk = true;
  if (o.steps.length) {
    const r = rampMarkdown(o, env, rows, { ...extra, recovered });
    out += r.md + "\n";
    rampOk = r.ok;
  }
  process.stdout.write(out);
  if (o.append) log(`recorded in ${recordResult("idle", out, { current: !o.quick }).join(", ")}`);
  // Exit 1 if the RSS part lost connections or the sensor was degraded without any idle load; degradation at some
  // step is the ramp's finding, not a failure.
  process.exit((rss === null || rss.bannered === o.connections) && rampOk ? 0 : 1);
}

if (process.argv[2] === "--holder") holderMain();
else
  main().catch(async (err) => {
    log(`idle: ${err.stack ?? err}`);
    await teardown().catch(() => {});
    process.exit(1);
  });
