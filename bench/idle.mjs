#!/usr/bin/env node
// Memory per idle connection: relaytrap's RSS before and after 10,000 TCP connections that read the banner and idle.
//
//   node bench/idle.mjs [--connections N] [--batch N] [--sources N] [--no-append]
// --sources N spreads client addresses over 127.0.0.1..127.0.0.N (if one source runs out of ephemeral ports).
import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { CLI, ROOT, SMTP_SOURCE, machine, requireBuilt, rssKb, runBounded, sleep, startRelaytrap } from "./lib.mjs";

const TARGET_KB = 12;
const log = (s) => process.stderr.write(s + "\n");

function parseArgs(argv) {
  const o = { connections: 10_000, batch: 500, sources: 1, append: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--connections") o.connections = Number(argv[++i]);
    else if (a === "--batch") o.batch = Number(argv[++i]);
    else if (a === "--sources") o.sources = Number(argv[++i]);
    else if (a === "--no-append") o.append = false;
    else {
      process.stderr.write("usage: node bench/idle.mjs [--connections N] [--batch N] [--sources N] [--no-append]\n");
      process.exit(2);
    }
  }
  const bad = (n, max) => !Number.isInteger(n) || n < 1 || n > max;
  if (bad(o.connections, 15_000) || bad(o.batch, 5000) || bad(o.sources, 250)) {
    process.stderr.write("idle: --connections 1..15000, --batch 1..5000, --sources 1..250\n");
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

async function main() {
  const o = parseArgs(process.argv.slice(2));
  requireBuilt();
  const env = machine();
  const limit = Math.max(12_000, o.connections + 2000);
  const rt = await startRelaytrap({ extraLimits: { maxSessions: limit, maxSessionsPerIp: limit } });
  const sockets = [];
  let result;
  try {
    // Warm-up: a few messages through the whole path (parse, analyze, store), then let it settle.
    const warm = await runBounded(SMTP_SOURCE, ["-s", "10", "-m", "200", "-l", "2048", "-f", "a@bench.invalid", "-t", "b@remote.invalid", `127.0.0.1:${rt.port}`], 60_000);
    if (warm.code !== 0) throw new Error(`warm-up smtp-source failed: ${warm.stderr}`);
    await sleep(3000);
    const before = rssKb(rt.pid);
    log(`relaytrap pid ${rt.pid} port ${rt.port}: RSS before ${before.rss} KB`);

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
    await sleep(3000);
    const afterClose = rssKb(rt.pid).rss;
    result = { before: before.rss, after, hwm, afterClose, bannered, stillOpen, openMs, perConnKb: (after - before.rss) / o.connections };
  } finally {
    for (const s of sockets) s.destroy();
    const ex = await rt.stop();
    if (ex.code !== 0) log(`relaytrap exit ${ex.code ?? ex.signal}: ${rt.stderr().slice(-2000)}`);
    rt.cleanup();
  }

  const r = result;
  const md = [
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
  process.stdout.write(md + "\n");
  if (o.append) {
    const results = join(ROOT, "bench", "RESULTS.md");
    if (!existsSync(results)) writeFileSync(results, "# relaytrap benchmark results\n\nAppended by `bench/smtp.mjs` and `bench/idle.mjs`; newest last.\n\n");
    appendFileSync(results, md + "\n");
    log(`appended to ${results}`);
  }
  process.exit(r.bannered === o.connections ? 0 : 1);
}

main().catch((err) => {
  log(`idle: ${err.stack ?? err}`);
  process.exit(1);
});
