// The Node SMTP servers bench/smtp.mjs races relaytrap against (issue 18 item 1), beside the real Postfix of lib.mjs:
// Haraka (an open relay into a discarding queue plugin, no reverse DNS) and MailDev (the tool a Node user picks to catch
// and read mail). Installed once with npm into a cache dir outside the repository; each run gets a fresh temp dir, a
// free loopback port and its own process group, and is stopped (and its dir removed) after the run, also on SIGINT.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOOPBACK, exited, freePort, probeBanner, runBounded, sleep } from "./lib.mjs";

/** Where the peers are installed (`npm install --prefix`); never the repository's node_modules. */
export const PEERS_DIR = process.env.RELAYTRAP_BENCH_PEERS || join(tmpdir(), "relaytrap-bench-peers");
/** npm package and pinned major of each peer; the installed version goes into the results table. */
export const PEER_PACKAGES = {
  haraka: { name: "Haraka", major: 3, bin: "haraka" },
  maildev: { name: "maildev", major: 3, bin: "maildev" },
};
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 15_000;
const HOSTNAME = "mx.bench.invalid";

const log = (s) => process.stderr.write(s + "\n");

function installedPackage(peer) {
  try {
    return JSON.parse(readFileSync(join(PEERS_DIR, "node_modules", PEER_PACKAGES[peer].name, "package.json"), "utf8"));
  } catch {
    return null;
  }
}

const installedVersion = (peer) => installedPackage(peer)?.version ?? null;

/** The installed version of a peer, e.g. "3.3.4" (after ensurePeers). */
export function peerVersion(peer) {
  return installedVersion(peer) ?? "?";
}

/**
 * Installs the peers that are missing (or of another major) into PEERS_DIR with
 * `npm install --prefix DIR --no-audit --no-fund Haraka@3 maildev@3`. Throws with npm's last lines if that fails.
 */
export async function ensurePeers(peers) {
  const missing = peers.filter((p) => Number(String(installedVersion(p)).split(".")[0]) !== PEER_PACKAGES[p].major);
  if (missing.length === 0) return;
  mkdirSync(PEERS_DIR, { recursive: true });
  const specs = missing.map((p) => `${PEER_PACKAGES[p].name}@${PEER_PACKAGES[p].major}`);
  const args = ["install", "--prefix", PEERS_DIR, "--no-audit", "--no-fund", "--loglevel", "error", ...specs];
  log(`bench: installing ${specs.join(" ")} into ${PEERS_DIR} (once): npm ${args.join(" ")}`);
  const r = await runBounded("npm", args, INSTALL_TIMEOUT_MS);
  if (r.timedOut || r.code !== 0 || missing.some((p) => !installedVersion(p))) {
    throw new Error(`npm install of ${specs.join(" ")} into ${PEERS_DIR} failed (${r.timedOut ? "timed out" : `exit ${r.code ?? r.signal}`}): ${(r.stderr || r.stdout).trim().slice(-1500)}`);
  }
}

/** The peer's command (its package.json `bin` entry), run with this Node. */
function peerBin(peer) {
  const { name, bin } = PEER_PACKAGES[peer];
  const pkg = installedPackage(peer);
  const rel = typeof pkg?.bin === "string" ? pkg.bin : pkg?.bin?.[bin];
  if (!rel) throw new Error(`${name} is not installed in ${PEERS_DIR} (or has no \`${bin}\` command)`);
  return join(PEERS_DIR, "node_modules", name, rel);
}

/** Peers alive right now (process group leaders), so an interrupt can stop them all. */
const live = new Set();

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `signal` to the leader (its graceful shutdown), then SIGKILL to the whole group after graceMs; waits until it is gone. */
async function stopGroup(proc, signal, graceMs = STOP_GRACE_MS) {
  if (proc.exitCode === null && proc.signalCode === null) {
    try {
      proc.kill(signal);
    } catch {}
    let timer;
    await Promise.race([exited(proc), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  }
  // The leader is gone or stuck: nothing of its group (Haraka's cluster worker) may outlive it.
  for (let i = 0; i < 50 && groupAlive(proc.pid); i++) {
    try {
      process.kill(-proc.pid, i === 0 ? "SIGTERM" : "SIGKILL");
    } catch {}
    await sleep(100);
  }
  return exited(proc);
}

/** Stops every peer still running (SIGINT/SIGTERM handlers, errors). */
export async function stopAllPeers() {
  const all = [...live];
  live.clear();
  await Promise.all(all.map((p) => stopGroup(p.proc, p.signal, 3000)));
}

/** Spawns a peer in its own process group, waits for its 220 on `port`; stdout+stderr go to `logFile`. */
async function spawnPeer(name, args, { cwd, port, logFile, signal, env = process.env }) {
  const fd = openSync(logFile, "a");
  let proc;
  try {
    proc = spawn(process.execPath, args, { cwd, env, detached: true, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  const entry = { proc, signal };
  live.add(entry);
  const stop = () => {
    live.delete(entry);
    return stopGroup(proc, signal);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    if (await probeBanner(port, 1000)) return { proc, pid: proc.pid, port, stop };
    await sleep(100);
  }
  const ex = proc.exitCode ?? proc.signalCode;
  await stop();
  const tail = existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : "";
  const why = ex === null ? `did not answer 220 on ${LOOPBACK}:${port} within ${START_TIMEOUT_MS} ms` : `exited (${ex}) before answering on ${LOOPBACK}:${port}`;
  throw new Error(`${name} ${why}: ${tail}`);
}

/**
 * Haraka's plugin for the benchmark: every client may relay (connection.relaying = true at connect_init, so RCPT to
 * any domain is accepted), no reverse-DNS lookup (lookup_rdns answers OK itself; otherwise the core calls
 * dns.reverse), and every message is accepted and dropped by the queue hooks (queue_outbound is the one Haraka runs
 * for relayed mail; without an OK there it would deliver).
 */
const HARAKA_PLUGIN = `// written by relaytrap's bench/peers.mjs: open relay, no rDNS, accept and discard.
exports.register = function () {
  this.register_hook('connect_init', 'relay_all')
  this.register_hook('lookup_rdns', 'no_rdns')
  this.register_hook('queue', 'discard')
  this.register_hook('queue_outbound', 'discard')
}
exports.relay_all = (next, connection) => {
  connection.relaying = true
  next()
}
exports.no_rdns = (next) => next(OK, 'localhost')
exports.discard = (next) => next(OK)
`;

/**
 * Haraka in a fresh dir: `haraka -i DIR` (its shipped defaults: connection.ini, log.ini at level info, ...), then
 * smtp.ini listens on 127.0.0.1:PORT (nodes unset = Haraka's default: a cluster master + 1 worker), config/plugins
 * holds only bench_discard (no mail_from.is_resolvable, rcpt_to.in_host_list, smtp_forward, fcrdns, spf, dkim,
 * dns-list: nothing that resolves names). Log to DIR/haraka.log. Resolves with { port, dir, pid, stop(), cleanup() }.
 */
export async function startHaraka() {
  const dir = mkdtempSync(join(tmpdir(), "relaytrap-bench-haraka-"));
  try {
    const bin = peerBin("haraka");
    const init = await runBounded(process.execPath, [bin, "-i", dir], 60_000);
    if (init.code !== 0) throw new Error(`haraka -i ${dir} failed (${init.code ?? init.signal}): ${init.stderr.slice(-1500)}`);
    const port = await freePort();
    writeFileSync(join(dir, "config", "smtp.ini"), `; written by bench/peers.mjs (nodes unset: Haraka's default)\nlisten=${LOOPBACK}:${port}\n`);
    writeFileSync(join(dir, "config", "plugins"), "# written by bench/peers.mjs: only the benchmark's open-relay + discard plugin\nbench_discard\n");
    writeFileSync(join(dir, "config", "me"), `${HOSTNAME}\n`);
    mkdirSync(join(dir, "plugins"), { recursive: true });
    writeFileSync(join(dir, "plugins", "bench_discard.js"), HARAKA_PLUGIN);
    const h = await spawnPeer("Haraka", [bin, "-c", dir], { cwd: dir, port, logFile: join(dir, "haraka.log"), signal: "SIGINT" });
    return { ...h, dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * MailDev as a Node user runs it to catch mail: `maildev --smtp PORT --ip 127.0.0.1 --disable-web --mail-directory
 * DIR/mail --silent` (every message written to DIR/mail as a .eml file). Resolves with
 * { port, dir, mailDir, pid, stop(), cleanup(), stored() }; stored() counts the .eml files.
 */
export async function startMaildev() {
  const dir = mkdtempSync(join(tmpdir(), "relaytrap-bench-maildev-"));
  try {
    const port = await freePort();
    const mailDir = join(dir, "mail");
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("MAILDEV_")));
    const args = [peerBin("maildev"), "--smtp", String(port), "--ip", LOOPBACK, "--disable-web", "--mail-directory", mailDir, "--silent"];
    const m = await spawnPeer("MailDev", args, { cwd: dir, port, env, logFile: join(dir, "maildev.log"), signal: "SIGTERM" });
    const stored = () => (existsSync(mailDir) ? readdirSync(mailDir).filter((f) => f.endsWith(".eml")).length : 0);
    return { ...m, dir, mailDir, stored, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Starts a peer by name ("haraka" | "maildev"). */
export function startPeer(peer) {
  if (peer === "haraka") return startHaraka();
  if (peer === "maildev") return startMaildev();
  throw new Error(`unknown peer ${peer}`);
}
