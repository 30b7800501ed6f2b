#!/usr/bin/env node
// Web API latency with a big store: generates N summary rows (default 1,000,000 messages over 3 years, plus sessions)
// straight into a SQLite store built with the project's migrations, starts the real sensor on it, and measures the p95
// of the list/search/stats endpoints over HTTP; then the dashboard load (time to the three graphs being drawn) in
// headless Chromium.
//
//   node bench/web.mjs                      1,000,000 messages, 200 requests per endpoint, 5 dashboard loads
//   node bench/web.mjs --quick              100,000 messages, 40 requests per endpoint, 3 dashboard loads
//   options: --messages N  --requests N  --loads N  --store DIR (keep/reuse the generated store there)  --no-browser
//            --migrations DIR (default src/store/sqlite/migrations)  --no-append
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { Agent, get } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ROOT, machine, median, recordResult, requireBuilt, stopProcess } from "./lib.mjs";

const TARGET_P95_MS = 50;
const TARGET_DASHBOARD_MS = 1000;
const DAY = 86_400_000;
const require = createRequire(join(ROOT, "package.json"));
const log = (s) => process.stderr.write(s + "\n");

function parseArgs(argv) {
  const o = { quick: false, messages: null, requests: null, loads: null, store: null, browser: true, append: true, migrations: join(ROOT, "src", "store", "sqlite", "migrations") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--messages") o.messages = Number(argv[++i]);
    else if (a === "--requests") o.requests = Number(argv[++i]);
    else if (a === "--loads") o.loads = Number(argv[++i]);
    else if (a === "--store") o.store = argv[++i];
    else if (a === "--migrations") o.migrations = argv[++i];
    else if (a === "--no-browser") o.browser = false;
    else if (a === "--no-append") o.append = false;
    else {
      process.stderr.write("usage: node bench/web.mjs [--quick] [--messages N] [--requests N] [--loads N] [--store DIR] [--migrations DIR] [--no-browser] [--no-append]\n");
      process.exit(a === "-h" || a === "--help" ? 0 : 2);
    }
  }
  o.messages ??= o.quick ? 100_000 : 1_000_000;
  o.requests ??= o.quick ? 40 : 200;
  o.loads ??= o.quick ? 3 : 5;
  if (!(o.messages >= 1000 && o.messages <= 5_000_000) || !(o.requests >= 5 && o.requests <= 2000) || !(o.loads >= 1 && o.loads <= 20)) {
    process.stderr.write("bench: --messages 1000..5000000, --requests 5..2000, --loads 1..20\n");
    process.exit(2);
  }
  return o;
}

function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECT_WORDS = ("cheap watches pharmacy discount offer invoice payment account verify urgent meeting bonus casino winner " +
  "loan mortgage crypto bitcoin investment opportunity shipping order confirmation delivery parcel replica luxury dating " +
  "singles password reset security alert bank transfer refund tax lottery prize inheritance business proposal").split(" ");
const RARE_WORDS = ["zanzibar", "quetzal", "xylophone", "kumquat", "fjord"];
const NUM_IPS = 30_000;
const NUM_DROPBOXES = 2_000;

/** Generates the store: migrations in order, then sessions and messages in big transactions, ids in time order. */
function generateStore(dbPath, n, migrationsDir) {
  const Database = require("better-sqlite3");
  const db = new Database(dbPath);
  db.pragma("auto_vacuum = INCREMENTAL"); // as openWriterDb does before the first table
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  db.pragma("cache_size = -262144");
  const files = readdirSync(migrationsDir).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  for (const f of files) {
    db.transaction(() => {
      db.exec(readFileSync(join(migrationsDir, f), "utf8"));
      db.pragma(`user_version = ${Number(f.slice(0, 3))}`);
    })();
  }
  const rnd = prng(20261127);
  const int = (k) => Math.floor(rnd() * k);
  const hex = (k) => {
    let s = "";
    for (let i = 0; i < k; i++) s += "0123456789abcdef"[int(16)];
    return s;
  };
  const ips = Array.from({ length: NUM_IPS }, () => `${11 + int(212)}.${int(256)}.${int(256)}.${1 + int(254)}`);
  // Skewed: a few sources send most of the mail (index ~ r^3).
  const ipOf = () => ips[Math.floor(NUM_IPS * rnd() ** 3)];
  const dropboxes = Array.from({ length: NUM_DROPBOXES }, (_, i) => `box${i}.${hex(4)}@${["yahoo.com", "hotmail.com", "gmail.com", "mail.ru"][i % 4]}`);
  const now = Date.now();
  const span = 3 * 365 * DAY;
  // received_at over 3 years, traffic growing with time (density ~ t), plus spam runs: 1% of days get a burst.
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const burst = rnd() < 0.15;
    times[i] = burst ? now - span + (Math.floor(rnd() * 11) * 100 + 37) * DAY * 1.0 * (span / (1100 * DAY)) + int(DAY) : now - span + Math.sqrt(rnd()) * span;
    if (times[i] > now) times[i] = now - int(DAY);
  }
  times.sort();
  const insSession = db.prepare(
    "INSERT INTO sessions (id, protocol, channel, started_at, ended_at, src_ip, src_port, dest_ip, dest_port, helo, transcript, commands, messages, close_reason) VALUES (?, 'smtp', 'direct', ?, ?, ?, ?, '198.51.100.23', 25, ?, '[]', ?, ?, 'quit')",
  );
  const insMessage = db.prepare(
    `INSERT INTO messages (id, queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, channel, helo, mail_from, rcpt_to, rcpt_count,
       subject, from_hdr, to_hdr, date_hdr, date_iso, message_id_hdr, size, sha256, body_stored, drop_reason, kind, verdict, parse_error, attachments, headers, text_body)
     VALUES (?, ?, ?, ?, ?, ?, '198.51.100.23', 25, 'direct', ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, 0, 'cutoff', ?, ?, NULL, '[]', NULL, ?)`,
  );
  const BATCH = 50_000;
  let sessions = 0;
  const kinds = { "relay-test": 0, spam: 0, other: 0 };
  const t0 = Date.now();
  for (let start = 0; start < n; start += BATCH) {
    db.transaction(() => {
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        const t = Math.floor(times[i]);
        const ip = ipOf();
        const sid = hex(16);
        const r = rnd();
        const kind = r < 0.08 ? "relay-test" : r < 0.93 ? "spam" : "other";
        kinds[kind]++;
        const helo = int(3) === 0 ? "User" : `[${ip}]`;
        // Scanners: some sessions send nothing (about 0.3 per message).
        if (rnd() < 0.3) {
          insSession.run(hex(16), t - 2000, t - 1500, ip, 1024 + int(60000), helo, 3, 0);
          sessions++;
        }
        insSession.run(sid, t - 200, t + 20, ip, 1024 + int(60000), helo, 6, 1);
        sessions++;
        let rcpt;
        let verdict = null;
        let subject;
        let from;
        if (kind === "relay-test") {
          const boxes = [dropboxes[Math.floor(NUM_DROPBOXES * rnd() ** 2)]];
          rcpt = boxes;
          from = `test${int(100)}@live.com`;
          subject = int(2) ? "198.51.100.23@pauletteOpen Relay" : `Relay test ${hex(6)}`;
          verdict = JSON.stringify({ kind, testedIps: ["198.51.100.23"], matchesSensor: true, dropboxes: boxes, score: 100, tester: null, evidence: [] });
        } else {
          rcpt = Array.from({ length: 1 + int(3) }, () => `${hex(6)}@victim${int(500)}.example`);
          from = `${hex(8)}@spam${int(2000)}.example`;
          const w = () => SUBJECT_WORDS[int(SUBJECT_WORDS.length)];
          subject = `${w()} ${w()} ${w()}${rnd() < 0.001 ? " " + RARE_WORDS[int(RARE_WORDS.length)] : ""}`;
          verdict = JSON.stringify({ kind, testedIps: [], matchesSensor: false, dropboxes: [], score: 0, evidence: [] });
        }
        const textBody = kind === "relay-test" ? "paulette" : `${subject}. Click here to claim your ${SUBJECT_WORDS[int(SUBJECT_WORDS.length)]} today.`;
        insMessage.run(
          i + 1, hex(11).toUpperCase(), sid, t, ip, 1024 + int(60000), helo, `<${from}>`, JSON.stringify(rcpt), rcpt.length,
          subject, from, rcpt[0], `<${hex(12)}@${from.split("@")[1]}>`, 800 + int(20_000), hex(64), kind, verdict, textBody,
        );
      }
    })();
    if ((start / BATCH) % 4 === 3) log(`  generated ${Math.min(n, start + BATCH)} messages (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  // The rollups and counters (attempt_days, store_totals, verdict_dropboxes, ...) were kept by the migrations' triggers
  // on the inserts above, as in the writer. What the sensor learns outside the writer's inserts (dropbox learning in
  // delivery/engine.ts -> store/sqlite/delivery.ts) is filled here from the same rows, as it would have recorded them:
  // the relay tests' dropboxes with their sources. (Its spam-recipient counting is left out: every generated spam
  // recipient is unique, so none would become a recurring dropbox, and the web API does not read the recipients.)
  db.transaction(() => {
    db.exec(`INSERT OR IGNORE INTO address_sources (role, address, src_ip, last_seen)
      SELECT 'd', lower(d.value), m.src_ip, MAX(m.received_at) FROM messages m, json_each(m.verdict, '$.dropboxes') d
      WHERE m.kind = 'relay-test' GROUP BY 2, 3`);
    db.exec(`INSERT OR IGNORE INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
      SELECT lower(d.value), MIN(m.received_at), MAX(m.received_at), COUNT(*), COUNT(DISTINCT m.src_ip), NULL, 'relay-test'
      FROM messages m, json_each(m.verdict, '$.dropboxes') d WHERE m.kind = 'relay-test' GROUP BY 1`);
  })();
  // No ANALYZE: the sensor never runs it, so a real store has no sqlite_stat1 and the planner works without statistics.
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return { messages: n, sessions, kinds, ips, dropboxes, first: Math.floor(times[0]), last: Math.floor(times[n - 1]), genMs: Date.now() - t0 };
}

/** Starts `relaytrap run` on the data dir; resolves with { proc, webPort } after "relaytrap: ready". */
async function startSensor(dataDir, timeoutMs = 120_000) {
  const proc = spawn(process.execPath, [CLI, "run", "--data-dir", dataDir, "--smtp-listen", "127.0.0.1:0", "--web-listen", "127.0.0.1:0", "--hostname", "mx.bench.invalid"], {
    cwd: dataDir,
    stdio: ["ignore", "pipe", "pipe"],
    // keep the 3-year history (the default maxAgeDays 365 would prune it at start); no rDNS lookups
    env: { ...process.env, NODE_ENV: "production", RELAYTRAP_STORAGE_MAX_AGE_DAYS: "0", RELAYTRAP_RDNS_ENABLED: "false" },
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err.length < 65536 ? (err += d) : null));
  const t0 = Date.now();
  const webPort = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sensor not ready within ${timeoutMs} ms: ${err}`)), timeoutMs);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening web on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m && /relaytrap: ready/.test(out)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`sensor exited (${code}) before ready: ${err}`));
    });
  }).catch(async (e) => {
    await stopProcess(proc, 2000);
    throw e;
  });
  proc.stdout.resume();
  return { proc, webPort, startMs: Date.now() - t0, stderr: () => err };
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One GET; resolves with { ms, status, bytes }. Bounded by timeoutMs. */
function timedGet(port, path, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = get({ host: "127.0.0.1", port, path, agent, headers: { accept: "application/json" }, timeout: timeoutMs }, (res) => {
      let bytes = 0;
      res.on("data", (d) => (bytes += d.length));
      res.on("end", () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, bytes }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

async function measureApi(port, info, requests, deadline) {
  const rnd = prng(7);
  const int = (k) => Math.floor(rnd() * k);
  const heavyIp = info.ips[0];
  const anyIp = () => info.ips[Math.floor(info.ips.length * rnd() ** 3)];
  const randomId = () => 1 + int(info.messages);
  const common = () => SUBJECT_WORDS[int(SUBJECT_WORDS.length)];
  const yearAgo = () => Date.now() - 365 * DAY;
  const endpoints = [
    { id: "list", path: () => "/api/v1/messages", main: true },
    { id: "list-before", path: () => `/api/v1/messages?before=${randomId()}` },
    { id: "kind-relay", path: () => "/api/v1/messages?kind=relay-test" },
    { id: "kind-relay-before", path: () => `/api/v1/messages?kind=relay-test&before=${randomId()}` },
    { id: "kind-spam", path: () => "/api/v1/messages?kind=spam" },
    { id: "src-heavy", path: () => `/api/v1/messages?src_ip=${heavyIp}` },
    { id: "src-any", path: () => `/api/v1/messages?src_ip=${anyIp()}` },
    { id: "src-before", path: () => `/api/v1/messages?src_ip=${heavyIp}&before=${randomId()}` },
    { id: "q-common", path: () => `/api/v1/messages?q=${common()}` },
    { id: "q-two", path: () => `/api/v1/messages?q=${encodeURIComponent(common() + " " + common())}` },
    { id: "q-rare", path: () => `/api/v1/messages?q=${RARE_WORDS[int(RARE_WORDS.length)]}` },
    { id: "q-before", path: () => `/api/v1/messages?q=${common()}&before=${randomId()}` },
    { id: "q-kind", path: () => `/api/v1/messages?q=relay&kind=relay-test` },
    { id: "dropbox", path: () => `/api/v1/messages?kind=relay-test&dropbox=${encodeURIComponent(info.dropboxes[int(20)])}` },
    { id: "stats-month", path: () => "/api/v1/stats/attempts?bucket=month", main: true },
    { id: "stats-week-1y", path: () => `/api/v1/stats/attempts?bucket=week&since=${yearAgo()}` },
    { id: "stats-day-1y", path: () => `/api/v1/stats/attempts?bucket=day&since=${yearAgo()}` },
    { id: "summary", path: () => "/api/v1/summary" },
  ];
  // Warm-up: two of each (untimed).
  for (const e of endpoints) for (let i = 0; i < 2; i++) await timedGet(port, e.path());
  const samples = new Map(endpoints.map((e) => [e.id, []]));
  const examples = new Map();
  let bad = 0;
  // Round-robin over the endpoints so the machine's noise spreads evenly over them. A slow endpoint stops being
  // sampled once it has used its time budget (at least 10 samples), so a slow query cannot stretch the run for ever.
  const spent = new Map(endpoints.map((e) => [e.id, 0]));
  const budgetMs = Math.max(5_000, requests * 100);
  for (let r = 0; r < requests; r++) {
    if (Date.now() > deadline) {
      log(`  web: deadline reached after ${r} rounds`);
      break;
    }
    for (const e of endpoints) {
      if (samples.get(e.id).length >= 10 && spent.get(e.id) > budgetMs) continue;
      const path = e.path();
      const res = await timedGet(port, path);
      if (res.status !== 200) {
        bad++;
        if (bad < 5) log(`  GET ${path} -> ${res.status}`);
      }
      samples.get(e.id).push(res.ms);
      spent.set(e.id, spent.get(e.id) + res.ms);
      if (!examples.has(e.id)) examples.set(e.id, path);
    }
  }
  return endpoints.map((e) => {
    const xs = samples.get(e.id);
    return { id: e.id, main: e.main, example: examples.get(e.id), n: xs.length, p50: median(xs), p95: pct(xs, 95), max: Math.max(...xs) };
  }).concat([]).map((x) => ({ ...x, bad }));
}

async function measureDashboard(port, loads) {
  const { chromium } = require("playwright-core");
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    timeout: 60_000,
  });
  const out = [];
  try {
    for (let i = 0; i < loads; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } }); // fresh: cold HTTP cache each load
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: "commit", timeout: 30_000 });
      // Time since navigation start at which all three graphs have a canvas (uPlot drew them).
      const handle = await page.waitForFunction(
        () => (["chart-month", "chart-week", "chart-day"].every((id) => document.querySelector(`#${id} canvas`)) ? performance.now() : false),
        null,
        { polling: "raf", timeout: 30_000 },
      );
      const inPage = await handle.jsonValue();
      const wall = Date.now() - t0;
      const nav = await page.evaluate(() => {
        const n = performance.getEntriesByType("navigation")[0];
        const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/api/v1/"));
        return { domContentLoaded: n?.domContentLoadedEventEnd ?? null, api: api.map((r) => ({ url: new URL(r.name).pathname + new URL(r.name).search, ms: r.responseEnd - r.startTime })) };
      });
      out.push({ inPage, wall, nav });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  requireBuilt();
  const env0 = machine();
  const t0 = Date.now();
  const deadline = t0 + (o.quick ? 150_000 : 30 * 60_000);
  const tmp = o.store ?? mkdtempSync(join(tmpdir(), "relaytrap-bench-web-"));
  mkdirSync(tmp, { recursive: true });
  const dataDir = join(tmp, "data");
  const dbPath = join(dataDir, "relaytrap.db");
  const infoPath = join(tmp, "store-info.json");
  let info;
  if (o.store && existsSync(infoPath) && existsSync(dbPath) && JSON.parse(readFileSync(infoPath, "utf8")).messages === o.messages) {
    info = JSON.parse(readFileSync(infoPath, "utf8"));
    log(`web: reusing the store in ${dataDir} (${info.messages} messages)`);
  } else {
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    log(`web: generating ${o.messages} messages into ${dbPath} (migrations from ${o.migrations})`);
    info = generateStore(dbPath, o.messages, o.migrations);
    (await import("node:fs")).writeFileSync(infoPath, JSON.stringify(info));
    log(`web: generated ${info.messages} messages + ${info.sessions} sessions in ${(info.genMs / 1000).toFixed(0)} s`);
  }
  const dbBytes = statSync(dbPath).size;
  const migrations = readdirSync(o.migrations).filter((f) => /^\d{3}_.+\.sql$/.test(f)).sort();
  let api;
  let dash = null;
  let sensor;
  try {
    sensor = await startSensor(dataDir);
    log(`web: sensor ready in ${sensor.startMs} ms, web on 127.0.0.1:${sensor.webPort}`);
    api = await measureApi(sensor.webPort, info, o.requests, deadline);
    for (const a of api) log(`  ${a.id.padEnd(18)} p50 ${a.p50.toFixed(1).padStart(7)} ms  p95 ${a.p95.toFixed(1).padStart(7)} ms  max ${a.max.toFixed(1).padStart(7)} ms  (${a.n})  ${a.example}`);
    if (o.browser) {
      dash = await measureDashboard(sensor.webPort, o.loads);
      for (const d of dash) log(`  dashboard: graphs drawn at ${d.inPage.toFixed(0)} ms after navigation start (wall ${d.wall} ms); ${d.nav.api.map((a) => `${a.url} ${a.ms.toFixed(0)}`).join(", ")}`);
    }
  } finally {
    if (sensor) {
      const ex = await stopProcess(sensor.proc);
      if (ex.code !== 0) log(`web: sensor exit ${ex.code ?? ex.signal}: ${sensor.stderr().slice(-2000)}`);
    }
    if (!o.store) rmSync(tmp, { recursive: true, force: true });
  }

  const lines = [];
  lines.push(`### Web API latency${o.quick ? " (quick)" : ""}, ${env0.date}`);
  lines.push("");
  lines.push(`- command: \`${["node bench/web.mjs", ...process.argv.slice(2)].join(" ")}\``);
  lines.push(`- node ${env0.node}; CPU: ${env0.cpu} x ${env0.cores}; load average at start ${env0.load}, at end ${machine().load}; store on ${env0.tmp} (${env0.tmpFs})`);
  lines.push(
    `- store: ${info.messages.toLocaleString("en")} messages (relay-test ${info.kinds["relay-test"]}, spam ${info.kinds.spam}, other ${info.kinds.other}; bodies not stored) + ${info.sessions.toLocaleString("en")} sessions, ` +
      `received_at ${new Date(info.first).toISOString().slice(0, 10)} … ${new Date(info.last).toISOString().slice(0, 10)} (growing, with spam-run days), ${NUM_IPS} source IPs (skewed), ${NUM_DROPBOXES} dropboxes; ` +
      `${(dbBytes / 1e6).toFixed(0)} MB; migrations ${migrations.join(", ")}; generated in ${(info.genMs / 1000).toFixed(0)} s`,
  );
  lines.push(`- sensor: \`${CLI} run --data-dir DIR --smtp-listen 127.0.0.1:0 --web-listen 127.0.0.1:0\` (env RELAYTRAP_STORAGE_MAX_AGE_DAYS=0 so the history is not pruned), ready ${sensor.startMs} ms after spawn`);
  lines.push(
    `- up to ${o.requests} sequential requests per endpoint (keep-alive, one connection), round-robin over the endpoints after 2 untimed warm-ups each; an endpoint stops being sampled once its requests took ${Math.max(5, o.requests / 10)} s in all (n column); ` +
      `latency = request written → last body byte; ${api[0].bad} non-200 answers; no ANALYZE statistics (like a real store)`,
  );
  lines.push("");
  lines.push("| endpoint | example | n | p50 ms | p95 ms | max ms | p95 < 50 ms |");
  lines.push("|---|---|---:|---:|---:|---:|:-:|");
  for (const a of api) {
    lines.push(`| ${a.main ? "**" + a.id + "**" : a.id} | \`${a.example.replace(/\|/g, "%7C")}\` | ${a.n} | ${a.p50.toFixed(1)} | ${a.p95.toFixed(1)} | ${a.max.toFixed(1)} | ${a.p95 < TARGET_P95_MS ? "yes" : "**no**"} |`);
  }
  lines.push("");
  if (dash) {
    const ms = dash.map((d) => d.inPage);
    lines.push(
      `Dashboard in headless Chromium (\`/usr/bin/chromium\`, playwright-core, a fresh context per load): time from navigation start to all three uPlot graphs drawn, ` +
        `${dash.length} loads: median ${median(ms).toFixed(0)} ms, first ${ms[0].toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms — ${median(ms) < TARGET_DASHBOARD_MS ? "< 1 s: yes" : "**< 1 s: no**"}. ` +
        `API calls of the median load: ${dash[ms.indexOf([...ms].sort((a, b) => a - b)[Math.floor((ms.length - 1) / 2)])].nav.api.map((a) => `\`${a.url.replace(/since=\d+/, "since=…")}\` ${a.ms.toFixed(0)} ms`).join(", ")}.`,
    );
    lines.push("");
  }
  const md = lines.join("\n");
  process.stdout.write(md + "\n");
  if (o.append) {
    log(`recorded in ${recordResult("web", md, { current: !o.quick }).join(", ")}`);
  }
  log(`web: total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
  log(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
