// `relaytrap doctor`: checks a configuration against this machine before a real start — ports, data dir, the store file
// (quick_check), disk space, open-files limit, memory, sensor addresses, delivery, web exposure. Prints one line per check; FAIL lines make the exit status
// non-zero.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { networkInterfaces, totalmem } from "node:os";
import { join } from "node:path";
import type { Config } from "./config/schema.js";
import { lookupAll, normalizeIp, parseHostPort, resolvesToLoopback, type LookupAll } from "./net/address.js";
import { DB_FILE, describeStoreError, openReaderDb, recoveryHint, type Db } from "./store/sqlite/db.js";

export type Level = "ok" | "warn" | "FAIL";

export interface Check {
  level: Level;
  name: string;
  detail: string;
}

function tryListen(hostPort: string): Promise<string | null> {
  const hp = parseHostPort(hostPort);
  if (!hp) return Promise.resolve("not HOST:PORT");
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    srv.listen({ host: hp.host, port: hp.port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

export function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(normalizeIp(a.address));
  return out;
}

/** Descriptors the sensor needs besides its sessions: listeners, the database and its WAL, logs, worker, DNS. */
export const FD_RESERVE = 64;

/** The soft open-files limit of this process (Linux /proc), or null where it cannot be read. */
export function openFileLimit(limitsFile = "/proc/self/limits"): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(limitsFile, "utf8"));
    if (!m) return null;
    return m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return null;
  }
}

/** Past the open-files limit, new connections are accepted and closed at once: no 421, just a dead connection, the
 * kind of oddity a scanner notices. Warn when the session limits can reach it. */
export function openFilesCheck(config: Config, limit = openFileLimit()): Check {
  const needed = config.limits.maxSessions + (config.proxyListen.length > 0 ? config.proxy.limits.maxSessions : 0) + FD_RESERVE;
  const what = `limits.maxSessions${config.proxyListen.length > 0 ? " + proxy.limits.maxSessions" : ""} + ${FD_RESERVE} = ${needed}`;
  if (limit === null) return { level: "ok", name: "open files", detail: `limit unknown here; the sessions need up to ${what}` };
  if (limit >= needed) return { level: "ok", name: "open files", detail: `limit ${limit}, enough for ${what}` };
  return {
    level: "warn",
    name: "open files",
    detail: `limit ${limit} is below ${what}: past it new clients get a dead connection instead of a 421; raise it (LimitNOFILE in deploy/relaytrap.service) or lower limits.maxSessions`,
  };
}

/** RSS a busy sensor reaches without the analysis workers: the 30-minute soak (5,000 idle connections and mixed
 * traffic) peaked at 385 MB (bench/RESULTS.md). */
export const SENSOR_PEAK_MB = 400;
/** An analysis worker's own RSS beside its heap (V8 isolate, code, buffers). */
export const WORKER_OVERHEAD_MB = 30;

/** Memory this process may use: the cgroup's limit (systemd MemoryMax=, a container) when lower than the machine's. */
export function memoryLimit(cgroupFile = "/sys/fs/cgroup/memory.max"): number {
  const total = totalmem();
  try {
    const v = readFileSync(cgroupFile, "utf8").trim();
    return /^\d+$/.test(v) ? Math.min(total, Number(v)) : total;
  } catch {
    return total;
  }
}

/** Crafted mail can grow every analysis worker to analysis.maxHeapMb at once; warn when that and a busy sensor do not
 * fit: the kernel's OOM killer would end the sensor, acknowledged messages safe but the trap down until restarted. */
export function memoryCheck(config: Config, limitBytes = memoryLimit()): Check {
  const a = config.analysis;
  const needed = SENSOR_PEAK_MB + a.workers * (a.maxHeapMb + WORKER_OVERHEAD_MB);
  const what = `~${SENSOR_PEAK_MB} MB busy + analysis.workers ${a.workers} x (analysis.maxHeapMb ${a.maxHeapMb} + ${WORKER_OVERHEAD_MB}) = ${needed} MB`;
  const have = Math.floor(limitBytes / 2 ** 20);
  if (have >= needed) return { level: "ok", name: "memory", detail: `${have} MB, enough for ${what}` };
  return { level: "warn", name: "memory", detail: `${have} MB is below ${what}: lower analysis.workers or analysis.maxHeapMb (see deploy/README.md)` };
}

/** Rows SQLite's quick_check reports at most (the first ones say enough). */
const QUICK_CHECK_MAX_ERRORS = 3;

/** The store file itself: opened read-only (safe beside a running sensor) and `PRAGMA quick_check`ed; a damaged file is a
 * FAIL with SQLite's words and how to recover. */
export function storeCheck(dataDir: string): Check {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) return { level: "ok", name: "store", detail: `${path} does not exist yet (created at the first start)` };
  let db: Db | null = null;
  try {
    db = openReaderDb(path);
    const rows = db.pragma(`quick_check(${QUICK_CHECK_MAX_ERRORS})`, { simple: false }) as Array<{ quick_check: string }>;
    const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
    if (problems.length === 0) return { level: "ok", name: "store", detail: `${path}: quick_check ok` };
    return { level: "FAIL", name: "store", detail: `${path}: quick_check: ${problems.join("; ").replace(/\s+/g, " ")}: the file is damaged; ${recoveryHint(path)}` };
  } catch (err) {
    return { level: "FAIL", name: "store", detail: describeStoreError(path, err as Error).replace(/^store /, "") };
  } finally {
    db?.close();
  }
}

export async function runDoctor(config: Config, lookup: LookupAll = lookupAll): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (level: Level, name: string, detail: string) => checks.push({ level, name, detail });

  const listeners: Array<[string, string]> = [
    ...config.smtpListen.map((a): [string, string] => ["smtp", a]),
    ...config.smtpsListen.map((a): [string, string] => ["smtps", a]),
    ...config.proxyListen.map((a): [string, string] => ["proxy", a]),
    ["web", config.webListen],
  ];
  for (const [kind, addr] of listeners) {
    const err = await tryListen(addr);
    if (err === null) add("ok", `listen ${kind}`, `${addr} can be bound`);
    else if (err === "EADDRINUSE") add("warn", `listen ${kind}`, `${addr} is in use (a running sensor, or another server)`);
    else add("FAIL", `listen ${kind}`, `${addr}: ${err}${err === "EACCES" ? " (ports below 1024 need CAP_NET_BIND_SERVICE; see deploy/)" : ""}`);
  }

  try {
    mkdirSync(config.dataDir, { recursive: true });
    const probe = join(config.dataDir, `.doctor-${process.pid}`);
    writeFileSync(probe, "x");
    rmSync(probe);
    accessSync(config.dataDir, constants.W_OK);
    add("ok", "data dir", `${config.dataDir} is writable`);
    const fs = statfsSync(config.dataDir);
    const free = fs.bavail * fs.bsize;
    const quota = config.storage.quotaBytes;
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
    if (free < quota) add("warn", "disk space", `${gib(free)} free, less than storage.quotaBytes (${gib(quota)}): the disk may fill before pruning starts`);
    else add("ok", "disk space", `${gib(free)} free, storage.quotaBytes ${gib(quota)}`);
  } catch (err) {
    add("FAIL", "data dir", `${config.dataDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }

  checks.push(storeCheck(config.dataDir));
  checks.push(openFilesCheck(config));
  checks.push(memoryCheck(config));

  const local = localAddresses();
  if (config.sensorIps.length === 0) {
    add("warn", "sensor IPs", "none configured: relay tests are still decoded, but only the address a client connected to counts as this sensor (set sensorIps behind NAT)");
  } else {
    const onInterface = config.sensorIps.filter((ip) => local.has(normalizeIp(ip)));
    const natted = config.sensorIps.filter((ip) => !local.has(normalizeIp(ip)));
    if (natted.length === 0) add("ok", "sensor IPs", `${onInterface.join(", ")} on this machine's interfaces`);
    else add("ok", "sensor IPs", `${natted.join(", ")} not on an interface here (fine behind NAT)${onInterface.length ? `; ${onInterface.join(", ")} local` : ""}`);
  }

  const d = config.delivery;
  if (!d.enabled) add("ok", "delivery", "off: nothing is ever sent out");
  else {
    const mode = d.dryRun ? "DRY RUN (nothing sent)" : d.smarthost ? `via smarthost ${d.smarthost}` : "by MX lookup";
    add("warn", "delivery", `ON ${mode}; caps: ${d.maxPerDay}/day, ${d.maxPerDropboxPerDay}/dropbox/day, ${d.maxPerSourcePerDay}/source/day${d.dropboxCopies ? "; dropbox copies on" : ""}`);
  }

  const webHost = parseHostPort(config.webListen)?.host ?? "";
  let webLoopback: { loopback: boolean; addresses: string[] } | null = null;
  try {
    webLoopback = await resolvesToLoopback(webHost, lookup);
  } catch (err) {
    add("FAIL", "web exposure", `${config.webListen}: cannot resolve ${webHost}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (webLoopback === null) {
    // reported above
  } else if (webLoopback.loopback) add("ok", "web exposure", `${config.webListen} is loopback only`);
  else if (config.web.users.length === 0) add("FAIL", "web exposure", `${config.webListen} resolves to ${webLoopback.addresses.join(", ")}, not only loopback, and web.users is empty: the sensor will refuse to start`);
  else add("warn", "web exposure", `${config.webListen} is reachable from the network (${config.web.users.length} user(s)); firewall it or use TLS in front`);
  if (config.web.public) add("warn", "web public view", "web.public is on: relay tests and graphs are readable without login (redacted)");

  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks.map((c) => `${c.level.padEnd(4)}  ${c.name.padEnd(16)} ${c.detail}`).join("\n") + "\n";
}
