#!/usr/bin/env node
// relaytrap command line: argument parsing only; the work is done by createSensor, exportMessages, ...
import "./v8-flags.js";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { checkWebListen, ConfigError, defaultHostname, loadConfig, type RawConfig } from "./config/load.js";
import { PERSONAS } from "./config/schema.js";

const HELP = `relaytrap - open-relay and open-proxy honeypot

Usage:
  relaytrap run [options]            run the sensor
  relaytrap export [options]         stream stored messages (safe while the sensor runs)
  relaytrap analyze FILE.eml [opts]  print the relay-test verdict of one message as JSON (--explain: in words)
  relaytrap reanalyze [--data-dir DIR] [--sensor-ip IP]...
                                     run the current analyzer over every stored message again and
                                     summarise what changed (verdicts up / down, by confidence)
  relaytrap check-config [--config FILE]
                                     validate the config (file + environment) and print it, secrets masked
  relaytrap doctor [--config FILE]   check ports, data dir, the store (quick_check), disk space, open files, memory,
                                     sensor IPs, delivery, web exposure
  relaytrap delivery off|on|status [--data-dir DIR] [--config FILE]
                                     the delivery kill switch (persisted; a running sensor obeys at once)
  relaytrap import PATH [--data-dir DIR] [--sensor-ip IP]... [--config FILE]
                                     import old trapped mail (mbox, Maildir, dir of .eml, one .eml), original dates kept;
                                     kept storage.maxAgeDays from the import (storage.pruneImported)
  relaytrap demo [--data-dir DIR] [--web-listen HOST:PORT] [--days N]
                                     a sensor with months of history and a simulated live stream (RFC 5737 sources)
  relaytrap hash-password            read a password on stdin, print its scrypt hash for web.users
  relaytrap collector --listen HOST:PORT --database-url postgres://... [--config FILE]
                                     the fleet collector on PostgreSQL (sensor tokens: RELAYTRAP_COLLECTOR_TOKENS)
  relaytrap collector-token NAME     print a new random sensor token and its config entry (sha256 hash)
  relaytrap collector-token revoke NAME [--database-url URL] [--config FILE]
                                     refuse a sensor's pushes and drop its sightings from the shared dropbox list
  relaytrap collector-dropbox confirm|unconfirm ADDRESS [--note TEXT] [--database-url URL] [--config FILE]
                                     an operator's word: a confirmed dropbox is known to every sensor
  relaytrap report --data-dir DIR --message ID --format arf|xarf [--kind source|dropbox] [--to auto|ADDR] [--include-private]
                                     print an abuse report (ARF, RFC 5965, or X-ARF JSON) for a stored message
  relaytrap feed misp|csv|json --data-dir DIR [--out DIR] [--since TIME] [--include-private]
                                     feeds of relay-test sources and dropboxes (MISP feed directory, CSV, JSON)
  relaytrap help                     this text

run options (each is also a config key and a RELAYTRAP_* environment variable):
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)
  --data-dir DIR           data directory (default ./data)                       dataDir
  --smtp-listen HOST:PORT  SMTP listener, repeatable (default 0.0.0.0:2525)      smtpListen
  --smtps-listen HOST:PORT implicit-TLS SMTP listener, repeatable               smtpsListen
  --proxy-listen HOST:PORT open-proxy trap (HTTP + SOCKS4/5), repeatable        proxyListen
  --web-listen HOST:PORT   web UI / API listener (default 127.0.0.1:8025)       webListen
  --sensor-ip IP           public address of this sensor (NAT), repeatable      sensorIps
  --hostname NAME          host name the persona greets with (default: hostname) hostname
  --persona NAME           ${PERSONAS.join("|")} (default postfix)               persona
  --collector-url URL      push events and message summaries to this collector   collectorUrl
  --collector-token TOKEN  this sensor's token there (or RELAYTRAP_COLLECTOR_TOKEN_FILE) collectorToken

export options:
  --data-dir DIR           data directory (default ./data)
  --format jsonl|mbox      output format (default jsonl)
  --kind KIND              only messages of this kind (relay-test, spam, other, unknown)
  --since TIME             only messages received at or after TIME (ISO-8601, or 7d / 12h / 30m ago)
  --no-raw                 jsonl without the base64 raw message

analyze options:
  --explain                the evidence trail in words: which field, which decoder, what it decoded, why this
                           confidence, whether it acts (only certain relay tests do)
  --sensor-ip IP           the sensor's own address (repeatable): a test of it sets matchesSensor
  --client-ip IP  --helo NAME  --mail-from ADDR  --rcpt ADDR (repeatable)   the SMTP envelope

Signals (run): SIGTERM/SIGINT stop gracefully, SIGHUP reopens the event log.
Exit status: 0 ok, 1 runtime error, 2 bad usage or config.`;

class UsageError extends Error {}

function die(msg: string, code: number): never {
  process.stderr.write(`relaytrap: ${msg}\n`);
  process.exit(code);
}

function parse<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
}

const RUN_FLAGS = {
  config: { type: "string" },
  "data-dir": { type: "string" },
  "smtp-listen": { type: "string", multiple: true },
  "smtps-listen": { type: "string", multiple: true },
  "proxy-listen": { type: "string", multiple: true },
  "web-listen": { type: "string" },
  "sensor-ip": { type: "string", multiple: true },
  hostname: { type: "string" },
  persona: { type: "string" },
  "collector-url": { type: "string" },
  "collector-token": { type: "string" },
} as const;

function runFlagsToConfig(v: Record<string, unknown>): RawConfig {
  const map: Record<string, string> = {
    "data-dir": "dataDir",
    "collector-url": "collectorUrl",
    "collector-token": "collectorToken",
    "smtp-listen": "smtpListen",
    "smtps-listen": "smtpsListen",
    "proxy-listen": "proxyListen",
    "web-listen": "webListen",
    "sensor-ip": "sensorIps",
    hostname: "hostname",
    persona: "persona",
  };
  const out: RawConfig = {};
  for (const [flag, key] of Object.entries(map)) if (v[flag] !== undefined) out[key] = v[flag];
  return out;
}

async function cmdRun(argv: string[]): Promise<void> {
  const { values } = parse(argv, RUN_FLAGS);
  const config = loadConfig({ configFile: values.config, flags: runFlagsToConfig(values) });
  await checkWebListen(config);
  const { createSensor } = await import("./sensor.js");
  let sensor: Awaited<ReturnType<typeof createSensor>>;
  try {
    sensor = await createSensor(config);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (e.code === "EADDRINUSE" || e.code === "EACCES" || e.code === "EADDRNOTAVAIL") {
      die(`cannot listen on ${e.address ?? "?"}:${e.port ?? "?"}: ${e.code}`, 1);
    }
    die(e.message, 1);
  }
  for (const l of sensor.listeners) process.stdout.write(`relaytrap: listening ${l.kind} on ${l.address}\n`);
  const { openFilesCheck } = await import("./doctor.js");
  const files = openFilesCheck(config);
  if (files.level !== "ok") process.stderr.write(`relaytrap: warning: open files: ${files.detail}\n`);
  // Handlers before "ready": a supervisor (or a test) may signal as soon as it reads that line, and a SIGTERM that
  // arrives before them kills the process with the default action instead of stopping it gracefully.
  stopOnSignals(() => sensor.close());
  process.on("SIGHUP", () => sensor.reopenLogs());
  process.stdout.write(`relaytrap: ready (data in ${config.dataDir})\n`);
}

/** SIGTERM/SIGINT: close gracefully once, then exit 0 (or 1 with the error). */
function stopOnSignals(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`relaytrap: ${sig}, stopping\n`);
    close().then(
      () => process.exit(0),
      (err: Error) => die(`error while stopping: ${err.message}`, 1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

export function parseSince(s: string, now = Date.now()): number {
  const rel = /^(\d+)([dhm])$/.exec(s);
  if (rel) return now - Number(rel[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as "d" | "h" | "m"];
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`--since: expected an ISO-8601 time or 7d/12h/30m, got "${s}"`);
  return t;
}

async function cmdExport(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    "data-dir": { type: "string" },
    format: { type: "string" },
    kind: { type: "string" },
    since: { type: "string" },
    "no-raw": { type: "boolean" },
  });
  const format = values.format ?? "jsonl";
  if (format !== "jsonl" && format !== "mbox") throw new UsageError(`--format: expected jsonl or mbox, got "${format}"`);
  const kinds = ["relay-test", "spam", "other", "unknown"];
  if (values.kind !== undefined && !kinds.includes(values.kind)) throw new UsageError(`--kind: expected one of ${kinds.join(", ")}`);
  const { openSqliteReader, NoStoreError } = await import("./store/sqlite/reader.js");
  const { exportMessages } = await import("./store/export.js");
  const dataDir = values["data-dir"] ?? "./data";
  let reader;
  try {
    reader = openSqliteReader(dataDir);
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
  });
  let written = 0;
  try {
    written = await exportMessages(reader, process.stdout, {
      format,
      raw: !values["no-raw"],
      filter: {
        kind: values.kind as never,
        since: values.since !== undefined ? parseSince(values.since) : undefined,
      },
      onMessage: () => void written++,
    });
  } catch (err) {
    // A damaged store: what was readable is out; say where it stopped, in one line.
    const { describeStoreError, DB_FILE } = await import("./store/sqlite/db.js");
    const { join } = await import("node:path");
    die(`export stopped after ${written} messages: ${describeStoreError(join(dataDir, DB_FILE), err as Error).split(": the file is damaged")[0]}`, 1);
  }
  reader.close();
}

async function cmdAnalyze(argv: string[]): Promise<void> {
  let parsedArgs;
  try {
    parsedArgs = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        "sensor-ip": { type: "string", multiple: true },
        "client-ip": { type: "string" },
        helo: { type: "string" },
        "mail-from": { type: "string" },
        rcpt: { type: "string", multiple: true },
        explain: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const { values, positionals } = parsedArgs;
  if (positionals.length !== 1) throw new UsageError("analyze: expected exactly one FILE.eml (see relaytrap help)");
  const file = positionals[0]!;
  const { readFileSync } = await import("node:fs");
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    die(`analyze: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 2);
  }
  const { analyzeRaw } = await import("./analysis/index.js");
  const { parsed, verdict } = await analyzeRaw(
    raw,
    { clientIp: values["client-ip"] ?? "", helo: values.helo ?? null, mailFrom: values["mail-from"] ?? null, rcptTo: values.rcpt ?? [] },
    values["sensor-ip"] ?? [],
  );
  // A message starts with header fields ("Name: value"); anything else (binary, empty, a random text file) is not one.
  const validHeaders = parsed.headers.filter((h) => /^[!-9;-~]+$/.test(h.key));
  if (parsed.parseError !== null || validHeaders.length === 0) die(`analyze: ${file} is not an RFC 5322 message${parsed.parseError ? `: ${parsed.parseError}` : " (no header fields)"}`, 2);
  if (values.explain) {
    const { explainVerdict } = await import("./analysis/explain.js");
    process.stdout.write(explainVerdict(verdict));
  } else process.stdout.write(JSON.stringify(verdict) + "\n");
}

async function cmdReanalyze(argv: string[]): Promise<void> {
  const { values } = parse(argv, { "data-dir": { type: "string" }, "sensor-ip": { type: "string", multiple: true } });
  const { reanalyzeStore } = await import("./store/sqlite/reanalyze.js");
  const { NoStoreError } = await import("./store/sqlite/reader.js");
  const { analyzeRaw } = await import("./analysis/index.js");
  const sensorIps = values["sensor-ip"] ?? [];
  try {
    const r = await reanalyzeStore(values["data-dir"] ?? "./data", async (row) => {
      const env = { clientIp: row.srcIp, helo: row.helo, mailFrom: row.mailFrom, rcptTo: row.rcptTo };
      const { parsed, verdict } = await analyzeRaw(row.raw, env, [...sensorIps, row.destIp]);
      return { verdict, hasHtml: parsed.html !== null };
    });
    const levels = (m: Partial<Record<string, number>>) => Object.entries(m).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    process.stdout.write(
      `relaytrap: reanalyzed ${r.messages} messages, ${r.changed} changed kind; ${r.up} verdicts up, ${r.down} down\n` +
        `  before: ${levels(r.before)}\n  after:  ${levels(r.after)}\n` +
        Object.entries(r.moves).map(([k, n]) => `  ${n} ${k}\n`).join(""),
    );
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
}

async function cmdDelivery(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action !== "on" && action !== "off" && action !== "status") throw new UsageError("delivery: expected on, off or status (see relaytrap help)");
  const { values } = parse(rest, { "data-dir": { type: "string" }, config: { type: "string" } });
  const config = loadConfig({ configFile: values.config, flags: values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {} });
  const { setDeliverySwitch, readDeliveryStatus } = await import("./store/sqlite/delivery.js");
  if (action !== "status") {
    // Persisted in the store: a running sensor reads it before every send.
    setDeliverySwitch(config.dataDir, action);
    const note = action === "on" && !config.delivery.enabled ? " (config delivery.enabled is false, which wins: nothing is delivered)" : "";
    process.stdout.write(`relaytrap: delivery switched ${action}${note}\n`);
    return;
  }
  const s = readDeliveryStatus(config.dataDir);
  const { deliveryState } = await import("./delivery/state.js");
  // The same state the API and the Config page show, from the config the sensor runs with (--config / RELAYTRAP_*).
  const out = { ...deliveryState(config.delivery, s.switch === "off"), switch: s.switch, queued: s.queued, last24h: s.last24h, dropboxes: s.dropboxes };
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
}

async function cmdDoctor(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" }, "data-dir": { type: "string" } });
  const config = loadConfig({ configFile: values.config, flags: values["data-dir"] ? { dataDir: values["data-dir"] } : {} });
  const { runDoctor, formatChecks } = await import("./doctor.js");
  const checks = await runDoctor(config);
  process.stdout.write(formatChecks(checks));
  if (checks.some((c) => c.level === "FAIL")) process.exitCode = 1;
}

async function cmdCheckConfig(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" } });
  const config = loadConfig({ configFile: values.config });
  const { renderConfig } = await import("./config/load.js");
  process.stdout.write(renderConfig(config));
}

async function cmdHashPassword(argv: string[]): Promise<void> {
  parse(argv, {});
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  if (password === "") throw new UsageError("hash-password: expected a password on stdin");
  const { hashPassword } = await import("./web/auth.js");
  process.stdout.write((await hashPassword(password)) + "\n");
}

async function cmdImport(argv: string[]): Promise<void> {
  let parsedArgs;
  try {
    parsedArgs = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { "data-dir": { type: "string" }, "sensor-ip": { type: "string", multiple: true }, config: { type: "string" } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const { values, positionals } = parsedArgs;
  if (positionals.length !== 1) throw new UsageError("import: expected exactly one PATH (see relaytrap help)");
  const { existsSync } = await import("node:fs");
  if (!existsSync(positionals[0]!)) die(`import: ${positionals[0]} does not exist`, 2);
  // The sensor's storage settings decide how long imported history is kept: import says so when they matter.
  const config = loadConfig({ configFile: values.config, flags: values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {} });
  const st = config.storage;
  const { importArchive } = await import("./web/import.js");
  const tty = process.stderr.isTTY;
  const counts = await importArchive(positionals[0]!, {
    dataDir: config.dataDir,
    sensorIps: values["sensor-ip"] ?? config.sensorIps,
    sensorNames: [config.hostname ?? defaultHostname()],
    olderThan: st.maxAgeDays > 0 ? Date.now() - st.maxAgeDays * 86_400_000 : null,
    onProgress: tty ? (c) => process.stderr.write(`\rrelaytrap: import: ${c.read} read, ${c.imported} imported, ${c.duplicates} duplicates, ${c.failed} failed`) : undefined,
  });
  if (tty) process.stderr.write("\n");
  process.stdout.write(
    `relaytrap: imported ${counts.imported} of ${counts.read} messages (${counts.relayTests} relay tests, ${counts.spam} spam, ${counts.other} other), ` +
      `${counts.duplicates} duplicates skipped, ${counts.failed} failed\n`,
  );
  if (counts.pastMaxAge > 0) {
    const n = `${counts.pastMaxAge} imported messages are older than storage.maxAgeDays (${st.maxAgeDays})`;
    if (st.pruneImported === "received-time") {
      process.stderr.write(
        `relaytrap: warning: ${n}: the sensor's next prune deletes them (storage.pruneImported: received-time); set storage.pruneImported: import-time or storage.maxAgeDays: 0 to keep them\n`,
      );
    } else {
      const until = new Date(Date.now() + st.maxAgeDays * 86_400_000).toISOString().slice(0, 10);
      process.stderr.write(`relaytrap: note: ${n}: they are kept until ${until}, ${st.maxAgeDays} days from this import (storage.pruneImported: import-time)\n`);
    }
  }
  if (counts.failed > 0 && counts.imported === 0 && counts.duplicates === 0) process.exitCode = 1;
}

async function cmdDemo(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    "data-dir": { type: "string" },
    "web-listen": { type: "string" },
    "smtp-listen": { type: "string", multiple: true },
    days: { type: "string" },
    "interval-ms": { type: "string" },
  });
  const days = Number(values.days ?? "420");
  const intervalMs = Number(values["interval-ms"] ?? "2500");
  if (!Number.isInteger(days) || days < 0 || days > 20 * 365) throw new UsageError("--days: expected a whole number of days (0..7300)");
  if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new UsageError("--interval-ms: expected milliseconds (>= 50)");
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { runDemo, DEMO_SENSOR_IP } = await import("./web/demo.js");
  const dataDir = values["data-dir"] ?? mkdtempSync(join(tmpdir(), "relaytrap-demo-"));
  const config = loadConfig({
    flags: {
      dataDir,
      smtpListen: values["smtp-listen"] ?? ["127.0.0.1:0"],
      webListen: values["web-listen"] ?? "127.0.0.1:8025",
      sensorIps: [DEMO_SENSOR_IP],
      hostname: "mail.example.org",
    },
  });
  process.stdout.write(`relaytrap: demo: data in ${dataDir}${days > 0 ? `, seeding ${days} days of history` : ""}\n`);
  const demo = await runDemo(config, { days, intervalMs });
  for (const l of demo.sensor.listeners) process.stdout.write(`relaytrap: listening ${l.kind} on ${l.address}\n`);
  const web = demo.sensor.listeners.find((l) => l.kind === "web");
  if (web) process.stdout.write(`relaytrap: demo: open http://${web.address}/\n`);
  stopOnSignals(() => demo.close());
  process.stdout.write(`relaytrap: ready (data in ${dataDir})\n`);
}

async function cmdCollector(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" }, listen: { type: "string" }, "database-url": { type: "string" } });
  const collectorFlags: RawConfig = {};
  if (values.listen !== undefined) collectorFlags.listen = values.listen;
  if (values["database-url"] !== undefined) collectorFlags.databaseUrl = values["database-url"];
  const config = loadConfig({ configFile: values.config, flags: { collector: collectorFlags } });
  const { createCollector } = await import("./collector/server.js");
  let collector: Awaited<ReturnType<typeof createCollector>>;
  let bound: { address: string };
  try {
    collector = await createCollector({ config });
    bound = await collector.listen();
  } catch (err) {
    die(`collector: ${(err as Error).message}`, 1);
  }
  process.stdout.write(`relaytrap: listening collector on ${bound.address}\n`);
  stopOnSignals(() => collector.close());
  process.stdout.write(`relaytrap: ready (collector)\n`);
}

/** The collector's database for an operator command: --database-url, else collector.databaseUrl (config / env). */
async function withCollectorDb<T>(values: { config?: string | undefined; "database-url"?: string | undefined }, what: string, fn: (pool: import("./store/postgres/db.js").PgPool) => Promise<T>): Promise<T> {
  const flags: RawConfig = values["database-url"] !== undefined ? { collector: { databaseUrl: values["database-url"] } } : {};
  const config = loadConfig({ configFile: values.config, flags });
  const url = config.collector.databaseUrl;
  if (!url) throw new UsageError(`${what}: no database URL (--database-url or collector.databaseUrl)`);
  const { migratePg, openPgPool } = await import("./store/postgres/db.js");
  const pool = openPgPool(url, 1);
  try {
    await migratePg(pool);
    return await fn(pool);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    die(`${what}: ${(err as Error).message}`, 1);
  } finally {
    await pool.end().catch(() => {});
  }
}

const COLLECTOR_DB_FLAGS = { config: { type: "string" }, "database-url": { type: "string" } } as const;

/** `relaytrap collector-token revoke NAME`: the sensor's pushes are refused and its sightings stop counting. */
async function cmdCollectorTokenRevoke(argv: string[]): Promise<void> {
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: argv, allowPositionals: true, strict: true, options: COLLECTOR_DB_FLAGS });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const name = parsedArgs.positionals[0];
  if (parsedArgs.positionals.length !== 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(name ?? "")) throw new UsageError("collector-token revoke: expected one sensor NAME");
  const { revokeSensor } = await import("./store/postgres/collector.js");
  const found = await withCollectorDb(parsedArgs.values, "collector-token revoke", (pool) => revokeSensor(pool, name!));
  if (!found) die(`collector-token revoke: no sensor "${name}" has pushed to this collector`, 2);
  process.stdout.write(
    `relaytrap: sensor ${name} revoked: its pushes are refused and its sightings no longer count in the shared dropbox list; remove its entry from collector.tokens too\n`,
  );
}

/** `relaytrap collector-dropbox confirm|unconfirm ADDRESS`: an operator's word makes a pooled dropbox known. */
async function cmdCollectorDropbox(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action !== "confirm" && action !== "unconfirm") throw new UsageError("collector-dropbox: expected confirm or unconfirm ADDRESS (see relaytrap help)");
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...COLLECTOR_DB_FLAGS, note: { type: "string" } } });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const address = parsedArgs.positionals[0];
  if (parsedArgs.positionals.length !== 1 || !/^[^\s@]{1,64}@[^\s@]{1,255}$/.test(address ?? "")) throw new UsageError(`collector-dropbox ${action}: expected one ADDRESS (local@domain)`);
  const { setDropboxConfirmed } = await import("./store/postgres/collector.js");
  const changed = await withCollectorDb(parsedArgs.values, `collector-dropbox ${action}`, (pool) =>
    setDropboxConfirmed(pool, address!, action === "confirm", parsedArgs.values.note ?? null),
  );
  if (action === "unconfirm" && !changed) die(`collector-dropbox unconfirm: ${address!.toLowerCase()} was not confirmed`, 2);
  process.stdout.write(
    action === "confirm"
      ? `relaytrap: dropbox ${address!.toLowerCase()} confirmed: known to every sensor at the next pull\n`
      : `relaytrap: dropbox ${address!.toLowerCase()} no longer confirmed: known again only when enough sensors see it\n`,
  );
}

async function cmdCollectorToken(argv: string[]): Promise<void> {
  if (argv[0] === "revoke" && argv.length > 1) return cmdCollectorTokenRevoke(argv.slice(1));
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const name = parsedArgs.positionals[0];
  if (parsedArgs.positionals.length !== 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(name ?? "")) throw new UsageError("collector-token: expected one sensor NAME ([A-Za-z0-9._-])");
  const { newToken, hashToken } = await import("./collector/auth.js");
  const token = newToken();
  process.stdout.write(`sensor:     collectorToken: ${token}\ncollector:  collector.tokens: ["${name}:${hashToken(token)}"]\n`);
}

async function cmdReport(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    "data-dir": { type: "string" },
    config: { type: "string" },
    message: { type: "string" },
    format: { type: "string" },
    kind: { type: "string" },
    to: { type: "string" },
    "include-private": { type: "boolean" },
  });
  const format = values.format ?? "arf";
  if (format !== "arf" && format !== "xarf") throw new UsageError(`--format: expected arf or xarf, got "${format}"`);
  const kind = values.kind ?? "source";
  if (kind !== "source" && kind !== "dropbox") throw new UsageError(`--kind: expected source or dropbox, got "${kind}"`);
  if (values.message === undefined || !/^\d{1,15}$/.test(values.message)) throw new UsageError("report: --message ID is required (a stored message id)");
  const config = loadConfig({ configFile: values.config, flags: values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {} });
  const { openSqliteReader, NoStoreError } = await import("./store/sqlite/reader.js");
  const { buildReportForMessage } = await import("./reports/index.js");
  let reader;
  try {
    reader = openSqliteReader(config.dataDir);
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
  try {
    const out = await buildReportForMessage(reader, Number(values.message), { config, format, kind, to: values.to ?? null, includePrivate: values["include-private"] === true });
    process.stdout.write(out);
  } catch (err) {
    die(`report: ${(err as Error).message}`, 2);
  } finally {
    reader.close();
  }
}

async function cmdFeed(argv: string[]): Promise<void> {
  const [format, ...rest] = argv;
  if (format !== "misp" && format !== "csv" && format !== "json") throw new UsageError("feed: expected misp, csv or json (see relaytrap help)");
  const { values } = parse(rest, {
    "data-dir": { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    since: { type: "string" },
    "include-private": { type: "boolean" },
  });
  if (format === "misp" && values.out === undefined) throw new UsageError("feed misp: --out DIR is required");
  const config = loadConfig({ configFile: values.config, flags: values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {} });
  const { openSqliteReader, NoStoreError } = await import("./store/sqlite/reader.js");
  const { feedData } = await import("./store/sqlite/feeds.js");
  const feeds = await import("./reports/feeds.js");
  let reader;
  try {
    reader = openSqliteReader(config.dataDir);
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
  const data = feedData(reader, values.since !== undefined ? parseSince(values.since) : 0);
  reader.close();
  const opts = { redactDropboxLocalParts: config.feeds.redactDropboxLocalParts, orgName: config.feeds.orgName, includePrivate: values["include-private"] === true };
  if (format === "misp") {
    const r = feeds.writeMispFeed(values.out!, data, opts);
    process.stdout.write(`relaytrap: feed: ${r.events} MISP events, ${r.attributes} attributes in ${values.out}\n`);
    return;
  }
  const text = format === "csv" ? feeds.toCsv(data, opts) : JSON.stringify(feeds.toJson(data, opts), null, 2) + "\n";
  if (values.out !== undefined) {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(values.out, text);
  } else process.stdout.write(text);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "run":
      return cmdRun(rest);
    case "export":
      return cmdExport(rest);
    case "analyze":
      return cmdAnalyze(rest);
    case "reanalyze":
      return cmdReanalyze(rest);
    case "check-config":
      return cmdCheckConfig(rest);
    case "doctor":
      return cmdDoctor(rest);
    case "delivery":
      return cmdDelivery(rest);
    case "import":
      return cmdImport(rest);
    case "demo":
      return cmdDemo(rest);
    case "hash-password":
      return cmdHashPassword(rest);
    case "collector":
      return cmdCollector(rest);
    case "collector-token":
      return cmdCollectorToken(rest);
    case "collector-dropbox":
      return cmdCollectorDropbox(rest);
    case "report":
      return cmdReport(rest);
    case "feed":
      return cmdFeed(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(HELP + "\n");
      return;
    default:
      throw new UsageError(`unknown command "${cmd}" (see relaytrap help)`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) die(err.message.split("\n").join("\nrelaytrap: "), 2);
  if (err instanceof UsageError) die(err.message, 2);
  die((err as Error).stack ?? String(err), 1);
});
