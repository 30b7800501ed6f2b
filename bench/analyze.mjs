#!/usr/bin/env node
// Analyzer throughput: messages/s of parse + analyze (`analyzeRaw`) and of `analyze` alone over a generated corpus
// (relay tests in every encoding, spam, newsletters, bounces, plus the analysis fixtures), one core, in this process.
//
//   node bench/analyze.mjs              10,000 messages, 3 rounds of A B B A (A = parse+analyze, B = analyze only)
//   node bench/analyze.mjs --quick      10,000 messages, 1 round
//   options: --messages N  --rounds N  --no-append
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, ROOT, machine, median, recordResult, requireBuilt } from "./lib.mjs";

const TARGET = 5000;
const log = (s) => process.stderr.write(s + "\n");

function parseArgs(argv) {
  const o = { quick: false, messages: 10_000, rounds: null, append: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--messages") o.messages = Number(argv[++i]);
    else if (a === "--rounds") o.rounds = Number(argv[++i]);
    else if (a === "--no-append") o.append = false;
    else {
      process.stderr.write("usage: node bench/analyze.mjs [--quick] [--messages N] [--rounds N] [--no-append]\n");
      process.exit(a === "-h" || a === "--help" ? 0 : 2);
    }
  }
  o.rounds ??= o.quick ? 1 : 3;
  if (!(o.messages >= 100 && o.messages <= 200_000) || !(o.rounds >= 1 && o.rounds <= 10)) {
    process.stderr.write("bench: --messages 100..200000, --rounds 1..10\n");
    process.exit(2);
  }
  return o;
}

// ---- corpus ---------------------------------------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32), so every run analyzes the same corpus. */
function prng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SENSOR = "198.51.100.23";
const WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna " +
  "aliqua offer price discount limited time exclusive deal order now free shipping click here unsubscribe account " +
  "verify your password bank invoice payment pharmacy cheap watches casino bonus winner congratulations").split(" ");

function corpusGenerator(seed) {
  const rnd = prng(seed);
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  const hex = (n) => Array.from({ length: n }, () => "0123456789abcdef"[int(16)]).join("");
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(" ");
  const para = (lines) => Array.from({ length: lines }, () => words(10 + int(6))).join("\r\n");
  const client = () => `203.0.113.${1 + int(250)}`;
  const user = () => `${pick(["mike", "kelly", "dwill", "sunny", "jr", "tina", "bob"])}${pick([".", "_", ""])}${100 + int(9000)}`;
  const date = () => new Date(Date.UTC(2015 + int(11), int(12), 1 + int(28), int(24), int(60), int(60))).toUTCString().replace("GMT", "+0000");
  const mid = (dom) => `<${hex(12)}.${hex(6)}@${dom}>`;
  const trace = (c) => `Received: from [${c}] (HELO ${c}) by mx.trap.example ([${SENSOR}]) with SMTP id ${hex(6)}; ${date()}`;
  const eml = (headers, body) => Buffer.from(`${headers.join("\r\n")}\r\n\r\n${body.replace(/\r?\n/g, "\r\n")}`, "utf8");
  const env = (clientIp, mailFrom, rcptTo) => ({ clientIp, helo: "User", mailFrom, rcptTo: rcptTo.map((a) => `<${a}>`) });
  const dropbox = () => `${user()}@${pick(["yahoo.com", "hotmail.com", "gmail.com", "mail.ru", "aol.com"])}`;
  const decimalAscii = (s) => [...s].map((ch) => String(ch.charCodeAt(0)).padStart(3, "0")).join("");
  const hexAscii = (s) => Buffer.from(s).toString("hex");
  const dotless = (ip) => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  const reversed = (ip) => ip.split(".").reverse().join(".");

  /** Relay tests: the tested IP (this sensor) carried in one of the encodings the README lists. */
  const relayEncodings = [
    ["plain", (c) => ({ subject: `Relay test ${SENSOR}`, body: `This is a relay test of ${SENSOR}\n` })],
    ["glued", (c) => ({ subject: `${SENSOR}@paulette${pick(["Open Relay", "OK", "relay"])}`, body: "paulette\n" })],
    ["decimal-ascii", (c) => ({ subject: "", body: decimalAscii(`${SENSOR}:${c}:25:`).match(/.{1,37}/g).join("\n") + "\n" })],
    ["hex-header", (c) => ({ subject: pick(["news", "hi", "info"]), body: "Hello there\n", extra: [`X-Ref: ${hexAscii(SENSOR)}`] })],
    ["dotless", (c) => ({ subject: `relay ${dotless(SENSOR)}`, body: "\n" })],
    ["reversed", (c) => ({ subject: `test ${reversed(SENSOR)}`, body: "relay check\n" })],
    ["base64", (c) => ({ subject: String(1000 + int(9000)), body: `id=${hex(4)}${Buffer.from(`${SENSOR}:25`).toString("base64")}\n` })],
    ["message-id", (c) => ({ subject: "test", body: "test\n", messageId: `<${decimalAscii(SENSOR)}@${pick(["hotmail.com", "live.com"])}>` })],
    ["hex-port", (c) => ({ subject: `1${dotless(SENSOR).toString(16).toUpperCase()}:25`, body: "\n" })],
    ["envelope-%hack", (c) => ({ subject: "hello", body: "hi\n", rcpt: (d) => `${d.replace("@", "%")}@[${SENSOR}]` })],
  ];

  function relayTest() {
    const [name, f] = pick(relayEncodings);
    const c = client();
    const r = f(c);
    const from = `${user()}@${pick(["live.com", "hotmail.com", "yahoo.com"])}`;
    const boxes = Array.from({ length: 1 + (rnd() < 0.2 ? int(20) : 0) }, dropbox);
    const rcpt = r.rcpt ? boxes.map(r.rcpt) : boxes;
    const headers = [trace(c), `Date: ${date()}`, `From: ${from}`, `To: ${boxes[0]}`, `Subject: ${r.subject}`, `Message-ID: ${r.messageId ?? mid("live.com")}`, ...(r.extra ?? [])];
    return { group: `relay-test/${name}`, expect: "relay-test", raw: eml(headers, r.body), env: env(c, `<${from}>`, rcpt) };
  }

  function spam() {
    const c = client();
    const from = `${user()}@${pick(["promo.example", "deals.example", "pharma.example"])}`;
    const to = Array.from({ length: 1 + int(5) }, () => `${user()}@victim.example`);
    const b = `b${hex(16)}`;
    const text = para(10 + int(40));
    const html = `<html><body><h1>${words(4)}</h1><p>${para(5 + int(20)).replace(/\r\n/g, "</p><p>")}</p><a href="https://${hex(8)}.example/c/${hex(24)}">${words(3)}</a></body></html>`;
    const body =
      `--${b}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n${text}\n` +
      `--${b}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n${html.replace(/=/g, "=3D")}\n--${b}--\n`;
    const headers = [trace(c), `Date: ${date()}`, `From: "${words(2)}" <${from}>`, `To: ${to[0]}`, `Subject: ${words(3 + int(5))}`, `Message-ID: ${mid("promo.example")}`, "MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="${b}"`];
    return { group: "spam", expect: "spam", raw: eml(headers, body), env: env(c, `<${from}>`, to) };
  }

  function newsletter() {
    const c = client();
    const to = `${user()}@victim.example`;
    const b = `nl${hex(12)}`;
    const links = Array.from({ length: 5 + int(10) }, () => `https://click.shop.example/t/${hex(20)}/${hex(32)}`).join("\n");
    const body =
      `--${b}\nContent-Type: text/plain; charset=utf-8\n\n${para(20 + int(30))}\n${links}\n` +
      `--${b}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n` +
      Buffer.from(`<html><body>${para(20).replace(/\r\n/g, "<br>")}<img src="https://t.shop.example/o/${hex(16)}.gif"></body></html>`).toString("base64").match(/.{1,76}/g).join("\n") +
      `\n--${b}--\n`;
    const headers = [
      trace(c), `Date: ${date()}`, "From: Shop News <news@shop.example>", `To: ${to}`, `Subject: ${pick(["Spring sale", "Weekly digest", "New arrivals"])}: ${words(4)}`,
      `Message-ID: ${mid("shop.example")}`, `List-Unsubscribe: <https://shop.example/u/${hex(24)}>`, `X-Campaign-Id: ${hex(32)}`, "MIME-Version: 1.0", `Content-Type: multipart/alternative; boundary="${b}"`,
    ];
    return { group: "newsletter", expect: "spam", raw: eml(headers, body), env: env(c, `<bounce-${hex(10)}@shop.example>`, [to]) };
  }

  function bounce() {
    const c = `192.0.2.${1 + int(250)}`;
    const b = `dsn${hex(8)}`;
    const orig = dropbox();
    const body = [
      `--${b}`, "Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii", "",
      "This is the mail system at host mx.isp.example.", "", "I'm sorry to have to inform you that your message could not", "be delivered to one or more recipients.", "",
      `<${orig}>: host mx.example said: 550 5.1.1 user unknown`, "",
      `--${b}`, "Content-Description: Delivery report", "Content-Type: message/delivery-status", "",
      "Reporting-MTA: dns; mx.isp.example", "", `Final-Recipient: rfc822; ${orig}`, "Action: failed", "Status: 5.1.1", "",
      `--${b}`, "Content-Description: Undelivered Message Headers", "Content-Type: text/rfc822-headers", "",
      `Received: from unknown (HELO ${SENSOR}) ([${SENSOR}])`, `  by mx.isp.example with SMTP; ${date()}`, `Subject: ${SENSOR}@pauletteOpen Relay`, "",
      `--${b}--`, "",
    ].join("\n");
    const headers = [trace(c), `Date: ${date()}`, "From: MAILER-DAEMON@mx.isp.example (Mail Delivery System)", "To: test@live.com", "Subject: Undelivered Mail Returned to Sender", "MIME-Version: 1.0", `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`];
    return { group: "bounce", expect: "other", raw: eml(headers, body), env: env(c, "<>", ["test@live.com"]) };
  }

  return { relayTest, spam, newsletter, bounce, int };
}

/** n messages: 30% relay tests (10 encodings), 35% spam, 15% newsletters, 10% bounces, 10% the analysis fixtures. */
export async function buildCorpus(n, seed = 42) {
  const distDir = join(CLI, "..");
  const fx = await import(pathToFileURL(join(distDir, "analysis", "fixtures.js")).href);
  const fixtures = [...fx.RELAY_TESTS, ...fx.HARD_NEGATIVES].map((f) => ({ name: f.name, group: "fixture", expect: f.expect.kind, raw: f.raw, env: f.env, sensorIps: f.sensorIps, opts: f.knownDropboxes ? { knownDropboxes: new Set(f.knownDropboxes) } : {} }));
  const g = corpusGenerator(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = i % 20; // fixed interleaving: 6 relay, 7 spam, 3 newsletter, 2 bounce, 2 fixture per 20
    let m;
    if (r < 6) m = g.relayTest();
    else if (r < 13) m = g.spam();
    else if (r < 16) m = g.newsletter();
    else if (r < 18) m = g.bounce();
    else m = fixtures[g.int(fixtures.length)];
    out.push({ sensorIps: [SENSOR], opts: {}, ...m });
  }
  return out;
}

// ---- measurement ----------------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2));
  requireBuilt();
  const distDir = join(CLI, "..");
  // The V8 settings the relaytrap CLI runs with (src/v8-flags.ts), so the analyzer is measured as the sensor runs it.
  const { V8_FLAGS } = await import(pathToFileURL(join(distDir, "v8-flags.js")).href);
  const { analyze, analyzeRaw } = await import(pathToFileURL(join(distDir, "analysis", "index.js")).href);
  const { parseMessage } = await import(pathToFileURL(join(distDir, "analysis", "parse.js")).href);
  const env0 = machine();
  const corpus = await buildCorpus(o.messages);
  const bytes = corpus.reduce((a, m) => a + m.raw.length, 0);
  const groups = new Map();
  for (const m of corpus) groups.set(m.group.split("/")[0], (groups.get(m.group.split("/")[0]) ?? 0) + 1);
  log(`corpus: ${corpus.length} messages, ${(bytes / 1e6).toFixed(1)} MB (mean ${(bytes / corpus.length / 1024).toFixed(1)} KB): ${[...groups].map(([k, v]) => `${k} ${v}`).join(", ")}`);

  // Parsed once, for the analyze-only runs (and the classification check).
  const parsed = [];
  for (const m of corpus) parsed.push(await parseMessage(m.raw));

  async function runFull() {
    const t0 = process.hrtime.bigint();
    for (const m of corpus) await analyzeRaw(m.raw, m.env, m.sensorIps, m.opts);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  }
  function runAnalyze() {
    const t0 = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < corpus.length; i++) sink += analyze(parsed[i], corpus[i].env, corpus[i].sensorIps, corpus[i].opts).score;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (sink < 0) log("");
    return ms;
  }

  // Warm-up (JIT), untimed; also the classification check against the generator's intent.
  const mism = new Map();
  const kinds = new Map();
  const mismFixtures = new Set();
  for (let i = 0; i < corpus.length; i++) {
    const v = analyze(parsed[i], corpus[i].env, corpus[i].sensorIps, corpus[i].opts);
    if (v.kind !== corpus[i].expect && corpus[i].group === "fixture") mismFixtures.add(corpus[i].name);
    kinds.set(v.kind, (kinds.get(v.kind) ?? 0) + 1);
    if (v.kind !== corpus[i].expect) mism.set(corpus[i].group, (mism.get(corpus[i].group) ?? 0) + 1);
  }
  for (let i = 0; i < Math.min(1000, corpus.length); i++) await analyzeRaw(corpus[i].raw, corpus[i].env, corpus[i].sensorIps, corpus[i].opts);
  if (mismFixtures.size) log(`fixtures not as expected: ${[...mismFixtures].join("; ")}`);
  log(`verdicts: ${[...kinds].map(([k, v]) => `${k} ${v}`).join(", ")}; not as generated: ${mism.size ? [...mism].map(([k, v]) => `${k} ${v}`).join(", ") : "none"}`);

  const full = [];
  const only = [];
  // CPU time of each run too (this process, all its threads): on a shared machine the wall rate also counts the time
  // other processes held the core, the CPU rate does not.
  const fullCpu = [];
  const onlyCpu = [];
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  for (let r = 0; r < o.rounds; r++) {
    for (const which of ["A", "B", "B", "A"]) {
      const c0 = process.cpuUsage();
      const ms = which === "A" ? await runFull() : runAnalyze();
      const c = process.cpuUsage(c0);
      (which === "A" ? full : only).push(ms);
      (which === "A" ? fullCpu : onlyCpu).push((c.user + c.system) / 1000);
      log(`  round ${r + 1} ${which === "A" ? "parse+analyze" : "analyze only "} ${((corpus.length * 1000) / ms).toFixed(0).padStart(7)} msg/s (${ms.toFixed(0)} ms, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms)`);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = Date.now() - t0;
  const rate = (ms) => (corpus.length * 1000) / ms;
  const fullRate = median(full.map(rate));
  const onlyRate = median(only.map(rate));
  const fullCpuRate = median(fullCpu.map(rate));
  const onlyCpuRate = median(onlyCpu.map(rate));
  const fmt = (x) => x.toFixed(0);

  const lines = [
    `### Analyzer throughput, ${env0.date}`,
    "",
    `- command: \`${["node bench/analyze.mjs", ...process.argv.slice(2)].join(" ")}\` (${o.rounds} round(s) of A B B A, A = parse + analyze (\`analyzeRaw\`), B = \`analyze\` over messages parsed beforehand)`,
    `- node ${env0.node}; CPU: ${env0.cpu} x ${env0.cores}; load average at start ${env0.load}, at end ${machine().load}; one thread (this process, sequential awaits); V8 flags as the CLI sets them: ${V8_FLAGS.join(" ")}; CPU/wall during the timed runs ${((cpu.user + cpu.system) / 1000 / wall).toFixed(2)}`,
    `- corpus: ${corpus.length} generated messages, ${(bytes / 1e6).toFixed(1)} MB, mean ${(bytes / corpus.length / 1024).toFixed(1)} KB: ${[...groups].map(([k, v]) => `${k} ${v}`).join(", ")} ` +
      "(relay tests in 10 encodings: plain, glued, decimal-ASCII, hex header, dotless, reversed, base64, Message-ID, 1<hex>:port, %-hack envelope; multipart spam text+QP HTML; newsletters with base64 HTML and tracking links; DSN bounces quoting a relay test; the 39 analysis fixtures)",
    `- verdicts: ${[...kinds].map(([k, v]) => `${k} ${v}`).join(", ")}; differing from the generator's intent: ${mism.size ? [...mism].map(([k, v]) => `${k} ${v}`).join(", ") : "none"}`,
    `- analyzer: \`${join(distDir, "analysis", "index.js")}\``,
    "- msg per CPU-second: messages / CPU time (user + system) this process used during the run, GC and libuv threads included; unlike msg/s it does not count time the core spent on other processes",
    "",
    "| measure | msg/s (median) | min–max | µs/msg | ≥ 5,000 msg/s | msg per CPU-second (median) | CPU µs/msg |",
    "|---|---:|---:|---:|:-:|---:|---:|",
    `| parse + analyze (\`analyzeRaw\`: mailparser + analysis) | ${fmt(fullRate)} | ${fmt(Math.min(...full.map(rate)))}–${fmt(Math.max(...full.map(rate)))} | ${(1e6 / fullRate).toFixed(0)} | ${fullRate >= TARGET ? "yes" : "**no**"} | ${fmt(fullCpuRate)} | ${(1e6 / fullCpuRate).toFixed(0)} |`,
    `| analyze only (\`analyze\` on a parsed message) | ${fmt(onlyRate)} | ${fmt(Math.min(...only.map(rate)))}–${fmt(Math.max(...only.map(rate)))} | ${(1e6 / onlyRate).toFixed(0)} | ${onlyRate >= TARGET ? "yes" : "**no**"} | ${fmt(onlyCpuRate)} | ${(1e6 / onlyCpuRate).toFixed(0)} |`,
    "",
  ];
  const md = lines.join("\n");
  process.stdout.write(md + "\n");
  if (o.append) {
    log(`recorded in ${recordResult("analyze", md, { current: !o.quick }).join(", ")}`);
  }
  return { fullRate, onlyRate };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err) => {
    log(`bench: ${err.stack ?? err}`);
    process.exit(1);
  });
}
