#!/usr/bin/env node
// `npm run bench`: the short version of every benchmark, one after the other, each appending its section to
// bench/RESULTS.md; a summary at the end. Bounded: each step has a timeout, the whole run aims at < 5 minutes.
//
//   node bench/all.mjs [--no-append] [--postfix] [--haraka] [--maildev] [--peers] [--skip smtp,analyze,web,proxy,idle]
import { spawn } from "node:child_process";
import { join } from "node:path";
import { ROOT, exited, machine, requireBuilt } from "./lib.mjs";

const log = (s) => process.stderr.write(s + "\n");

const argv = process.argv.slice(2);
const noAppend = argv.includes("--no-append") ? ["--no-append"] : [];
/** smtp.mjs's peer flags, passed through; each adds a minute to its quick deadline. */
const PEER_FLAGS = ["--postfix", "--haraka", "--maildev", "--peers"];
const peerFlags = argv.filter((a) => PEER_FLAGS.includes(a));
const peerCount = argv.includes("--peers") ? 3 : peerFlags.length;
const skip = new Set((argv[argv.indexOf("--skip") + 1] ?? "").split(",").filter((x) => argv.includes("--skip") && x));
for (const a of argv) {
  if (!["--no-append", "--skip", ...PEER_FLAGS].includes(a) && argv[argv.indexOf(a) - 1] !== "--skip") {
    log("usage: node bench/all.mjs [--no-append] [--postfix] [--haraka] [--maildev] [--peers] [--skip smtp,analyze,web,proxy,idle]");
    process.exit(a === "-h" || a === "--help" ? 0 : 2);
  }
}

/** id, script + args, timeout (ms). Budgets: smtp ~110 s (deadline inside), analyze ~25 s, web ~45 s, proxy ~20 s, idle ~25 s. */
const STEPS = [
  { id: "smtp", args: ["smtp.mjs", "--quick", ...peerFlags], timeoutMs: 130_000 + 70_000 * peerCount },
  { id: "analyze", args: ["analyze.mjs", "--quick"], timeoutMs: 90_000 },
  { id: "web", args: ["web.mjs", "--quick"], timeoutMs: 180_000 },
  { id: "proxy", args: ["proxy.mjs", "--quick"], timeoutMs: 100_000 },
  { id: "idle", args: ["idle.mjs", "--connections", "2000"], timeoutMs: 90_000 },
];

async function run(step) {
  const t0 = Date.now();
  const proc = spawn(process.execPath, [join(ROOT, "bench", step.args[0]), ...step.args.slice(1), ...noAppend], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout.on("data", (d) => {
    out += d;
    process.stdout.write(d);
  });
  let timedOut = false;
  // SIGTERM first so a step can clean up (smtp.mjs stops a running Postfix, Haraka, MailDev on SIGTERM), SIGKILL 10 s later.
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGTERM");
    setTimeout(() => proc.kill("SIGKILL"), 10_000).unref();
  }, step.timeoutMs);
  const { code, signal } = await exited(proc);
  clearTimeout(timer);
  return { id: step.id, code, signal, timedOut, s: (Date.now() - t0) / 1000, out };
}

async function main() {
  requireBuilt();
  const env0 = machine();
  const t0 = Date.now();
  const results = [];
  for (const step of STEPS) {
    if (skip.has(step.id)) continue;
    log(`\n== bench ${step.id}: node bench/${step.args.join(" ")} ${noAppend.join(" ")}`);
    results.push(await run(step));
  }
  const total = (Date.now() - t0) / 1000;
  log(`\n== npm run bench: ${total.toFixed(0)} s in all (node ${env0.node}, load at start ${env0.load}, at end ${machine().load})`);
  for (const r of results) log(`   ${r.id.padEnd(8)} ${r.s.toFixed(0).padStart(4)} s  ${r.timedOut ? "TIMED OUT" : r.code === 0 ? "ok" : `exit ${r.code ?? r.signal}`}`);
  process.exit(results.every((r) => r.code === 0 && !r.timedOut) ? 0 : 1);
}

main().catch((err) => {
  log(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
