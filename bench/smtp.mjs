#!/usr/bin/env node
// SMTP throughput: Postfix's smtp-source against (A) relaytrap (durable store + parse + analyze before each 250) and
// (B) Postfix's smtp-sink (discards), alternated A B B A per block; reports the relaytrap/smtp-sink ratio per scenario.
// With --postfix also (C) a real Postfix 3.7, open relay for loopback with every transport = discard (built by
// test/fixtures/postfix/setup-postfix.sh, needs root), blocks A B C C B A, and the relaytrap/Postfix ratio.
// With --haraka / --maildev (bench/peers.mjs, installed with npm into a cache dir on first use) also (E) Haraka, an open
// relay into a discarding queue plugin, and (F) MailDev; every selected peer sits in each block symmetrically, and the
// table adds relaytrap / each peer and relaytrap / the fastest peer of the block (issue 18 item 1: target >= 1.2).
//
//   node bench/smtp.mjs            full: 3 blocks, larger counts
//   node bench/smtp.mjs --quick    1 block, small counts (npm run bench; < 2 minutes)
//   options: --blocks N  --only ID[,ID]  --no-append  --cpu-prof DIR (relaytrap under node --cpu-prof; not appended)
//            --postfix (add the real Postfix to every block)
//            --haraka, --maildev (add Haraka 3 / MailDev 3 to every block); --peers = --postfix --haraka --maildev
//            --floor (add bench/floor-sink.mjs, a minimal Node responder without storage, to every block: D)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  CLI,
  ROOT,
  SMTP_SINK,
  SMTP_SOURCE,
  POSTFIX_DIR,
  countStored,
  cpuDelta,
  machine,
  median,
  recordResult,
  requireBuilt,
  runBounded,
  startNodeFloor,
  startPostfix,
  startRelaytrap,
  startSmtpSink,
  stopPostfix,
  threadTicks,
} from "./lib.mjs";
import { PEERS_DIR, ensurePeers, peerVersion, startPeer, stopAllPeers } from "./peers.mjs";

/** m: messages per timed run (full / quick). s: parallel sessions. l: payload bytes. r: recipients. d: reuse connection. */
const SCENARIOS = [
  { id: "conn-2k", title: "1 msg per connection, 2 KB", s: 20, l: 2048, r: 1, d: false, N: false, m: [5000, 800] },
  { id: "session-2k", title: "many msgs per session (-d), 2 KB", s: 20, l: 2048, r: 1, d: true, N: false, m: [6000, 1000] },
  { id: "rcpt50", title: "50 recipients per msg, 2 KB", s: 20, l: 2048, r: 50, d: false, N: true, m: [3000, 500] },
  { id: "size-100k", title: "100 KB messages", s: 20, l: 102_400, r: 1, d: false, N: false, m: [1500, 300] },
  { id: "conc-200", title: "200 concurrent sessions, 1 msg per conn, 2 KB", s: 200, l: 2048, r: 1, d: false, N: false, m: [6000, 1200] },
];
/** Issue 8 item 10: >= 0.35 of smtp-sink. */
const TARGET_RATIO = 0.35;
/** Issue 18 item 1: relaytrap >= 1.2 x the fastest of the real servers (Postfix, Haraka, MailDev) on every workload. */
const TARGET_PEERS = 1.2;
const LETTER = { relaytrap: "A", "smtp-sink": "B", postfix: "C", "node-floor": "D", haraka: "E", maildev: "F" };
/** The real servers relaytrap races, in block order; smtp-sink (ceiling) and the Node floor are not peers. */
const PEERS = ["postfix", "haraka", "maildev"];
const PEER_TITLE = { postfix: "Postfix", haraka: "Haraka", maildev: "MailDev" };

function parseArgs(argv) {
  const o = { quick: false, blocks: null, only: null, append: true, cpuProf: null, postfix: false, haraka: false, maildev: false, floor: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") o.quick = true;
    else if (a === "--blocks") o.blocks = Number(argv[++i]);
    else if (a === "--only") o.only = String(argv[++i]).split(",");
    else if (a === "--no-append") o.append = false;
    else if (a === "--cpu-prof") o.cpuProf = argv[++i];
    else if (a === "--postfix") o.postfix = true;
    else if (a === "--haraka") o.haraka = true;
    else if (a === "--maildev") o.maildev = true;
    else if (a === "--peers") o.postfix = o.haraka = o.maildev = true;
    else if (a === "--floor") o.floor = true;
    else if (a === "-h" || a === "--help") {
      process.stdout.write("usage: node bench/smtp.mjs [--quick] [--blocks N] [--only ID,..] [--no-append] [--cpu-prof DIR] [--postfix] [--haraka] [--maildev] [--peers] [--floor]\n");
      process.stdout.write(`scenarios: ${SCENARIOS.map((s) => s.id).join(", ")}\n`);
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  o.blocks ??= o.quick ? 1 : 3;
  if (!Number.isInteger(o.blocks) || o.blocks < 1 || o.blocks > 10) {
    process.stderr.write("bench: --blocks must be 1..10\n");
    process.exit(2);
  }
  o.peers = PEERS.filter((p) => o[p]);
  return o;
}

function sourceArgs(sc, count) {
  const a = ["-s", String(sc.s), "-m", String(count), "-l", String(sc.l), "-r", String(sc.r)];
  if (sc.d) a.push("-d");
  if (sc.N) a.push("-N");
  a.push("-M", "client.bench.invalid", "-f", "sender@bench.invalid", "-t", "rcpt@remote.invalid");
  return a;
}

const log = (s) => process.stderr.write(s + "\n");

async function runSource(sc, count, port, timeoutMs) {
  const r = await runBounded(SMTP_SOURCE, [...sourceArgs(sc, count), `127.0.0.1:${port}`], timeoutMs);
  if (r.timedOut) throw new Error(`smtp-source timed out after ${timeoutMs} ms`);
  if (r.code !== 0) throw new Error(`smtp-source exit ${r.code ?? r.signal}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.ms;
}

/** One timed run against one server: fresh server, warm-up, timed smtp-source, stop, verify. Returns msgs/s. */
async function runOnce(server, sc, count, warm, o) {
  const timeoutMs = o.quick ? 60_000 : 240_000;
  if (server === "relaytrap") {
    const nodeArgs = o.cpuProf ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProf}`] : [];
    const rt = await startRelaytrap({ nodeArgs });
    let ms;
    let cpu;
    let st;
    try {
      try {
        await runSource(sc, warm, rt.port, timeoutMs);
        const t0 = threadTicks(rt.pid);
        ms = await runSource(sc, count, rt.port, timeoutMs);
        cpu = cpuDelta(rt.pid, t0, threadTicks(rt.pid));
      } finally {
        const ex = await rt.stop();
        if (ex.code !== 0) log(`  relaytrap exit ${ex.code ?? ex.signal}: ${rt.stderr().slice(-2000)}`);
      }
      st = countStored(rt.dataDir);
    } finally {
      rt.cleanup();
    }
    const expected = warm + count;
    const ok = st.messages === expected && st.bodies === expected && st.raw === expected;
    if (!ok) log(`  STORE CHECK FAILED: expected ${expected}, messages=${st.messages} bodies=${st.bodies} raw=${st.raw}`);
    // CPU per message: the main thread (SMTP, parse, analyze, events) and all other threads (SQLite writer, libuv, GC).
    return { rate: (count * 1000) / ms, ms, storeOk: ok, stored: st.messages, expected, cpuMain: cpu.main / count, cpuOther: cpu.others / count, busiest: cpu.busiest };
  }
  if (server === "postfix") {
    const pf = await startPostfix();
    try {
      await runSource(sc, warm, pf.port, timeoutMs);
      const ms = await runSource(sc, count, pf.port, timeoutMs);
      // Let the discard agent drain the queue (bounded), so the next run starts from an empty queue.
      let left = -1;
      for (let i = 0; i < 100 && left !== 0; i++) {
        const q = await runBounded("/usr/sbin/postqueue", ["-c", join(POSTFIX_DIR, "etc"), "-j"], 10_000);
        left = q.stdout.split("\n").filter(Boolean).length;
        if (left) await new Promise((r) => setTimeout(r, 100));
      }
      if (left) log(`  postfix: ${left} message(s) still queued after 10 s; deleted`);
      return { rate: (count * 1000) / ms, ms, storeOk: true, queued: left };
    } finally {
      await pf.stop();
      await runBounded("/usr/sbin/postsuper", ["-c", join(POSTFIX_DIR, "etc"), "-d", "ALL"], 30_000);
    }
  }
  if (server === "haraka" || server === "maildev") {
    const peer = await startPeer(server);
    let ms;
    let stored = null;
    try {
      try {
        await runSource(sc, warm, peer.port, timeoutMs);
        ms = await runSource(sc, count, peer.port, timeoutMs);
      } finally {
        await peer.stop();
      }
      // MailDev writes one .eml per message: all of them must be there (Haraka discards; smtp-source's exit stands for it).
      if (peer.stored) stored = peer.stored();
    } finally {
      peer.cleanup();
    }
    const ok = stored === null || stored === warm + count;
    if (!ok) log(`  ${server}: expected ${warm + count} messages in its mail dir, found ${stored}`);
    return { rate: (count * 1000) / ms, ms, storeOk: ok };
  }
  const sink = server === "node-floor" ? await startNodeFloor() : await startSmtpSink({ maxConnections: Math.max(1000, sc.s * 2) });
  try {
    await runSource(sc, warm, sink.port, timeoutMs);
    const ms = await runSource(sc, count, sink.port, timeoutMs);
    return { rate: (count * 1000) / ms, ms, storeOk: true };
  } finally {
    await sink.stop();
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  requireBuilt();
  if (o.cpuProf) mkdirSync(o.cpuProf, { recursive: true });
  for (const f of [SMTP_SOURCE, SMTP_SINK]) {
    if (!existsSync(f)) {
      log(`bench: ${f} not found (Debian package postfix)`);
      process.exit(2);
    }
  }
  if (o.postfix || o.haraka || o.maildev) {
    // Never leave Postfix, Haraka or MailDev running, also when interrupted.
    for (const sig of ["SIGINT", "SIGTERM"]) {
      process.once(sig, () => void Promise.allSettled([o.postfix ? stopPostfix() : null, stopAllPeers()]).finally(() => process.exit(130)));
    }
  }
  const npmPeers = o.peers.filter((p) => p !== "postfix");
  if (npmPeers.length) {
    try {
      await ensurePeers(npmPeers);
    } catch (err) {
      log(`bench: ${err.message}`);
      process.exit(2);
    }
  }
  const scenarios = SCENARIOS.filter((s) => !o.only || o.only.includes(s.id));
  if (scenarios.length === 0) {
    log(`bench: no scenario matches --only ${o.only}`);
    process.exit(2);
  }
  const mi = o.quick ? 1 : 0;
  const warm = o.quick ? 100 : 200;
  // Whole-run deadline: quick must stay under 2 minutes (+1 per peer); a stuck full run gives up rather than hang.
  const deadline = Date.now() + (o.quick ? 110_000 + 60_000 * o.peers.length : (60 + 30 * o.peers.length) * 60_000);
  // Every selected server once in each half of the block, mirrored: A B C E F D D F E C B A.
  const middle = [...o.peers, ...(o.floor ? ["node-floor"] : [])];
  const order = ["relaytrap", "smtp-sink", ...middle, ...[...middle].reverse(), "smtp-sink", "relaytrap"];
  const env = machine();
  const t0 = Date.now();
  const rows = [];
  outer: for (const sc of scenarios) {
    const count = sc.m[mi];
    log(`${sc.id}: smtp-source ${sourceArgs(sc, count).join(" ")}`);
    const blocks = [];
    for (let b = 0; b < o.blocks; b++) {
      const runs = { relaytrap: [], "smtp-sink": [], postfix: [], haraka: [], maildev: [], "node-floor": [] };
      for (const server of order) {
        if (Date.now() > deadline) {
          log("bench: deadline reached, stopping early (partial results)");
          if (blocks.length) rows.push({ sc, count, blocks });
          break outer;
        }
        const r = await runOnce(server, sc, count, warm, o);
        runs[server].push(r);
        const cpu = r.cpuMain === undefined ? "" : `  cpu/msg main ${r.cpuMain.toFixed(2)} ms, other threads ${r.cpuOther.toFixed(2)} ms (busiest: ${r.busiest.comm} ${(r.busiest.ms / count).toFixed(2)} ms)`;
        log(`  block ${b + 1} ${server.padEnd(10)} ${r.rate.toFixed(0).padStart(6)} msg/s  (${(r.ms / 1000).toFixed(2)} s)${cpu}`);
      }
      const mean = (xs) => xs.reduce((a, x) => a + x.rate, 0) / xs.length;
      const peers = Object.fromEntries(o.peers.map((p) => [p, mean(runs[p])]));
      const fastest = o.peers.reduce((best, p) => (best === null || peers[p] > peers[best] ? p : best), null);
      blocks.push({
        rt: mean(runs.relaytrap),
        sink: mean(runs["smtp-sink"]),
        peers,
        fastest,
        floor: o.floor ? mean(runs["node-floor"]) : NaN,
        storeOk: runs.relaytrap.every((r) => r.storeOk),
        peersOk: o.peers.every((p) => runs[p].every((r) => r.storeOk)),
        cpuMain: runs.relaytrap.reduce((a, r) => a + r.cpuMain, 0) / runs.relaytrap.length,
        cpuOther: runs.relaytrap.reduce((a, r) => a + r.cpuOther, 0) / runs.relaytrap.length,
      });
    }
    rows.push({ sc, count, blocks });
  }
  const elapsed = (Date.now() - t0) / 1000;
  const loadAtEnd = machine().load;

  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const lines = [];
  lines.push(`### SMTP throughput${o.quick ? " (quick)" : ""}, ${env.date}`);
  lines.push("");
  lines.push(
    `- command: \`${["node bench/smtp.mjs", ...process.argv.slice(2)].join(" ")}\` (${o.blocks} block(s) of ${order.map((x) => LETTER[x]).join(" ")}, A = relaytrap, B = smtp-sink${o.postfix ? ", C = real Postfix" : ""}${o.haraka ? ", E = Haraka" : ""}${o.maildev ? ", F = MailDev" : ""}${o.floor ? ", D = Node floor (bench/floor-sink.mjs)" : ""})`,
  );
  lines.push(`- node ${env.node}; CPU: ${env.cpu} x ${env.cores}; load average at start ${env.load}, at end ${loadAtEnd}; data dir on ${env.tmp} (${env.tmpFs})`);
  lines.push(`- every run: fresh server (relaytrap: fresh data dir, bodies stored, synchronous=FULL), ${warm} untimed warm-up messages, then the timed smtp-source run; msg/s = messages / wall time of smtp-source`);
  lines.push(`- smtp-sink: \`smtp-sink${process.getuid?.() === 0 ? " -u nobody" : ""} -m N 127.0.0.1:PORT 4096\` (discards, no counters); total time ${elapsed.toFixed(0)} s`);
  lines.push(`- sensor: \`${CLI}\` (built ${statSync(CLI).mtime.toISOString()})`);
  if (o.postfix) {
    lines.push(
      `- Postfix: ${spawnSync("/usr/sbin/postconf", ["-dh", "mail_version"], { encoding: "utf8" }).stdout.trim()} built by \`test/fixtures/postfix/setup-postfix.sh\` in \`${POSTFIX_DIR}\` on a free loopback port ` +
        "(Debian main.cf, client in mynetworks so it relays, default/relay/local/virtual transport = discard, queue fsync'd before the 250, smtpd chrooted, default_process_limit 100); " +
        "started fresh per run (`postfix start`), queue drained by the discard agent and the instance stopped after each run",
    );
  }
  if (o.haraka) {
    lines.push(
      `- Haraka ${peerVersion("haraka")} (npm, in \`${PEERS_DIR}\`): \`haraka -c DIR\` on a fresh \`haraka -i DIR\` (shipped defaults: log level info to a file in DIR), ` +
        "listening on 127.0.0.1:PORT, smtp.ini `nodes` unset = Haraka's default (a cluster master + 1 worker process); config/plugins holds only bench/peers.mjs's plugin: " +
        "every client relays (connection.relaying at connect_init), lookup_rdns answered without DNS, queue and queue_outbound accept and discard (no SPF, DKIM, DNS lists, fcrdns, mail_from.is_resolvable); " +
        "started fresh per run, stopped (SIGINT, its graceful shutdown) and DIR removed after each run",
    );
  }
  if (o.maildev) {
    lines.push(
      `- MailDev ${peerVersion("maildev")} (npm, in \`${PEERS_DIR}\`): \`maildev --smtp PORT --ip 127.0.0.1 --disable-web --mail-directory DIR --silent\` ` +
        "(each message written to DIR as .eml while mailparser parses it, kept in its in-memory list, no fsync; its smtp-server's default reverse lookup of the client); " +
        "started fresh per run, stopped and DIR removed after each run; check: DIR must hold warm-up + timed .eml files",
    );
  }
  if (o.floor) lines.push("- Node floor: `node bench/floor-sink.mjs PORT`, a minimal Node SMTP responder (no parsing, storage or events): what any Node server can reach here");
  if (o.cpuProf) lines.push(`- relaytrap ran under \`node --cpu-prof\` (slower than normal)`);
  lines.push("");
  const names = (b) => PEER_TITLE[b.fastest];
  const peerHead = o.peers.map((p) => ` ${PEER_TITLE[p]} msg/s | relaytrap/${PEER_TITLE[p]} (median) | min–max |`).join("");
  const fastHead = o.peers.length ? ` fastest peer | relaytrap/fastest peer (median) | min–max | ≥ ${TARGET_PEERS.toFixed(1)} |` : "";
  const floorHead = o.floor ? " Node floor msg/s | floor/smtp-sink (median) |" : "";
  lines.push(`| scenario | smtp-source parameters | relaytrap msg/s | smtp-sink msg/s | ratio (median) | ratio min–max | ≥ ${TARGET_RATIO.toFixed(2)} |${peerHead}${fastHead}${floorHead} store check | relaytrap CPU ms/msg: main + other threads |`);
  lines.push(`|---|---|---:|---:|---:|---:|:-:|${"---:|---:|---:|".repeat(o.peers.length)}${o.peers.length ? "---|---:|---:|:-:|" : ""}${o.floor ? "---:|---:|" : ""}:-:|---:|`);
  const range = (xs, d) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
  for (const { sc, count, blocks } of rows) {
    const ratios = blocks.map((b) => b.rt / b.sink);
    const med = median(ratios);
    const peerCols = o.peers
      .map((p) => {
        const r = blocks.map((b) => b.rt / b.peers[p]);
        return ` ${fmt(median(blocks.map((b) => b.peers[p])))} | ${median(r).toFixed(2)} | ${range(r, 2)} |`;
      })
      .join("");
    let fastCols = "";
    if (o.peers.length) {
      // Per block: relaytrap against whichever peer was fastest in that block.
      const r = blocks.map((b) => b.rt / b.peers[b.fastest]);
      const tally = new Map();
      for (const b of blocks) tally.set(names(b), (tally.get(names(b)) ?? 0) + 1);
      const who = tally.size === 1 ? [...tally.keys()][0] : [...tally].map(([n, k]) => `${n} ×${k}`).join(", ");
      fastCols = ` ${who} | ${median(r).toFixed(2)} | ${range(r, 2)} | ${median(r) >= TARGET_PEERS ? "yes" : "**no**"} |`;
    }
    const floorCols = o.floor ? ` ${fmt(median(blocks.map((b) => b.floor)))} | ${median(blocks.map((b) => b.floor / b.sink)).toFixed(3)} |` : "";
    const peerCheck = blocks.every((b) => b.peersOk) ? "" : "; MailDev mail dir **FAILED**";
    lines.push(
      `| ${sc.title} | \`${sourceArgs(sc, count).join(" ")}\` | ${fmt(median(blocks.map((b) => b.rt)))} | ${fmt(median(blocks.map((b) => b.sink)))} | ` +
        `${med.toFixed(3)} | ${range(ratios, 3)} | ${med >= TARGET_RATIO ? "yes" : "**no**"} |${peerCols}${fastCols}${floorCols} ` +
        `${blocks.every((b) => b.storeOk) ? `ok (${count + warm}/run)` : "**FAILED**"}${peerCheck} | ` +
        `${median(blocks.map((b) => b.cpuMain)).toFixed(2)} + ${median(blocks.map((b) => b.cpuOther)).toFixed(2)} |`,
    );
  }
  lines.push("");
  const md = lines.join("\n");
  process.stdout.write(md + "\n");
  if (o.append && !o.cpuProf) {
    const id = o.haraka || o.maildev ? "smtp-peers" : o.postfix ? "smtp-postfix" : o.floor ? "smtp-floor" : "smtp";
    log(`recorded in ${recordResult(id, md, { current: !o.quick && !o.only }).join(", ")}`);
  }
  const failed = rows.some((r) => r.blocks.some((b) => !b.storeOk || !b.peersOk));
  process.exit(failed ? 1 : 0);
}

main().catch(async (err) => {
  log(`bench: ${err.stack ?? err}`);
  await Promise.allSettled([stopPostfix(), stopAllPeers()]);
  process.exit(1);
});
