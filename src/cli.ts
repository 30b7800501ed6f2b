#!/usr/bin/env node
// relaytrap command line: argument parsing only; the work is done by createSensor, exportMessages, ...
import "./v8-flags.js";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { checkWebListen, ConfigError, defaultHostname, loadConfig, type RawConfig } from "./config/load.js";
import { PERSONAS } from "./config/schema.js";

/** One command's help: its usage line (printed after every usage error), what it does, its options. */
interface CommandHelp {
  usage: string;
  about: string;
  options?: string;
}

const CONFIG_OPTS = `  --config FILE            the YAML config the sensor runs with (env RELAYTRAP_CONFIG); RELAYTRAP_* variables apply too
  --data-dir DIR           data directory (default: the config's dataDir, ./data)`;

const COMMANDS: Record<string, CommandHelp> = {
  run: {
    usage: "relaytrap run [options]",
    about: "Run the sensor. Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reopens the event log.",
    options: `Each option is also a config key and a RELAYTRAP_* environment variable:
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
  --collector-token TOKEN  this sensor's token there (or RELAYTRAP_COLLECTOR_TOKEN_FILE) collectorToken`,
  },
  export: {
    usage: "relaytrap export [--config FILE] [--data-dir DIR] [--format jsonl|mbox] [--kind KIND] [--since TIME] [--no-raw]",
    about: "Stream stored messages to stdout (safe while the sensor runs).",
    options: `${CONFIG_OPTS}
  --format jsonl|mbox      output format (default jsonl)
  --kind KIND              only messages of this kind (relay-test, spam, other, unknown)
  --since TIME             only messages received at or after TIME (ISO-8601, or 7d / 12h / 30m ago)
  --no-raw                 jsonl without the base64 raw message`,
  },
  analyze: {
    usage: "relaytrap analyze FILE.eml [--explain] [--sensor-ip IP]... [--client-ip IP] [--helo NAME] [--mail-from ADDR] [--rcpt ADDR]... [--config FILE]",
    about: "Print the relay-test verdict of one message as JSON (--explain: in words).",
    options: `  --explain                the evidence trail in words: which field, which decoder, what it decoded, why this
                           confidence, whether it acts (only certain relay tests do)
  --sensor-ip IP           the sensor's own address (repeatable; default: the config's sensorIps): a test of it
                           sets matchesSensor
  --client-ip IP  --helo NAME  --mail-from ADDR  --rcpt ADDR (repeatable)   the SMTP envelope
  --config FILE            the YAML config the sensor runs with (env RELAYTRAP_CONFIG)`,
  },
  reanalyze: {
    usage: "relaytrap reanalyze [--config FILE] [--data-dir DIR] [--sensor-ip IP]...",
    about: "Run the current analyzer over every stored message again and summarise what changed (verdicts up / down, by confidence).",
    options: `${CONFIG_OPTS}
  --sensor-ip IP           the sensor's own address, repeatable (default: the config's sensorIps)`,
  },
  "check-config": {
    usage: "relaytrap check-config [--config FILE]",
    about: "Validate the config (file + environment; every bad key at once) and print it, secrets masked.",
    options: "  --config FILE            YAML config file (env RELAYTRAP_CONFIG)",
  },
  doctor: {
    usage: "relaytrap doctor [--config FILE] [--data-dir DIR]",
    about: "Check ports, data dir, the store (quick_check), disk space, open files, memory, sensor IPs, delivery, web exposure.",
    options: CONFIG_OPTS,
  },
  delivery: {
    usage: "relaytrap delivery off|on|status [--config FILE] [--data-dir DIR]",
    about: `The delivery kill switch (persisted; a running sensor obeys at once). status prints, as JSON, the delivery state the
web UI shows: configEnabled, killSwitchEngaged, dryRun, effective ("off (config)", "stopped (kill switch)", "dry run"
or "on"), and the last day's counts. Give it the sensor's --config: delivery.enabled comes from there.`,
    options: CONFIG_OPTS,
  },
  import: {
    usage: "relaytrap import PATH [--config FILE] [--data-dir DIR] [--sensor-ip IP]...",
    about: `Import old trapped mail (mbox, Maildir, dir of .eml, one .eml), original dates kept; storage.maxAgeDays counts
from the import (storage.pruneImported).`,
    options: `${CONFIG_OPTS}
  --sensor-ip IP           the sensor's own address, repeatable (default: the config's sensorIps)`,
  },
  demo: {
    usage: "relaytrap demo [--data-dir DIR] [--web-listen HOST:PORT] [--smtp-listen HOST:PORT]... [--days N] [--interval-ms MS] [--keep]",
    about: `A sensor with months of history and a simulated live stream (RFC 5737 sources). It makes its own config; without
--data-dir its data goes to a temporary directory that is removed on exit unless --keep.`,
    options: `  --data-dir DIR           data directory (default: a new temporary directory)
  --web-listen HOST:PORT   web UI (default 127.0.0.1:8025)
  --smtp-listen HOST:PORT  SMTP listener, repeatable (default 127.0.0.1:0)
  --days N                 days of history to seed (default 420)
  --interval-ms MS         time between simulated live sessions (default 2500)
  --keep                   keep the temporary data directory on exit`,
  },
  "hash-password": {
    usage: "relaytrap hash-password",
    about: `Print the scrypt hash of a password for web.users. On a terminal it asks twice without echo; otherwise it reads
one line from stdin.`,
  },
  collector: {
    usage: "relaytrap collector --listen HOST:PORT --database-url postgres://... [--config FILE]",
    about: "The fleet collector on PostgreSQL (sensor tokens: RELAYTRAP_COLLECTOR_TOKENS).",
    options: `  --listen HOST:PORT       collector.listen
  --database-url URL       collector.databaseUrl (or RELAYTRAP_COLLECTOR_DATABASE_URL_FILE)
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)`,
  },
  "collector-token": {
    usage: "relaytrap collector-token NAME | relaytrap collector-token revoke NAME [--database-url URL] [--config FILE]",
    about: `NAME: print a new random sensor token and its config entry (sha256 hash).
revoke NAME: refuse a sensor's pushes and drop its sightings from the shared dropbox list.`,
    options: `  --database-url URL       the collector's database (default: the config's collector.databaseUrl)
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)`,
  },
  "collector-dropbox": {
    usage: "relaytrap collector-dropbox confirm|unconfirm ADDRESS [--note TEXT] [--database-url URL] [--config FILE]",
    about: "An operator's word: a confirmed dropbox is known to every sensor.",
    options: `  --note TEXT              why (kept with the confirmation)
  --database-url URL       the collector's database (default: the config's collector.databaseUrl)
  --config FILE            YAML config file (env RELAYTRAP_CONFIG)`,
  },
  report: {
    usage: "relaytrap report --message ID [--format arf|xarf] [--kind source|dropbox] [--to auto|ADDR] [--include-private] [--config FILE] [--data-dir DIR]",
    about: "Print an abuse report (ARF, RFC 5965, or X-ARF JSON) for a stored message.",
    options: `  --message ID             the stored message (required)
  --format arf|xarf        default arf
  --kind source|dropbox    report the sending source (default) or the dropbox
  --to auto|ADDR           the abuse contact (auto: RDAP lookup)
  --include-private        also report private / documentation addresses
${CONFIG_OPTS}`,
  },
  feed: {
    usage: "relaytrap feed misp|csv|json [--out DIR|FILE] [--since TIME] [--include-private] [--config FILE] [--data-dir DIR]",
    about: "Feeds of relay-test sources and dropboxes (MISP feed directory, CSV, JSON).",
    options: `  --out DIR|FILE           where to write (required for misp: a directory; csv/json default to stdout)
  --since TIME             only sightings at or after TIME (ISO-8601, or 7d / 12h / 30m ago)
  --include-private        include private / documentation addresses
${CONFIG_OPTS}`,
  },
  help: { usage: "relaytrap help [COMMAND]", about: "This text, or one command's." },
};

const HELP = `relaytrap - open-relay and open-proxy honeypot

Usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}\n      ${c.about.split("\n")[0]}`)
  .join("\n")}

relaytrap COMMAND --help shows one command's options. Commands that read the config or the data directory take
--config FILE (or RELAYTRAP_CONFIG) and the RELAYTRAP_* variables, like the sensor.
Exit status: 0 ok, 1 runtime error, 2 bad usage or config.`;

function commandHelp(c: CommandHelp): string {
  return `Usage: ${c.usage}\n\n${c.about}\n${c.options ? `\nOptions:\n${c.options}\n` : ""}\nExit status: 0 ok, 1 runtime error, 2 bad usage or config.\n`;
}

/** Bad usage: the message, then the command's usage line, exit 2. */
class UsageError extends Error {}

function die(msg: string, code: number): never {
  process.stderr.write(`relaytrap: ${msg}\n`);
  process.exit(code);
}

/** node:util parseArgs's error without its hint about "--" (the usage line follows instead). */
function parseMessage(err: unknown): string {
  return ((err as Error).message.split("\n")[0] ?? "").replace(/\. To specify a positional argument.*$/, "");
}

function parse<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (err) {
    throw new UsageError(parseMessage(err));
  }
}

/** The config a data command runs with: --config (or RELAYTRAP_CONFIG), RELAYTRAP_*, then --data-dir. */
function configOf(values: { config?: string | undefined; "data-dir"?: string | undefined }) {
  return loadConfig({ configFile: values.config, flags: values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {} });
}

function dataDirOf(values: { config?: string | undefined; "data-dir"?: string | undefined }): string {
  return configOf(values).dataDir;
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
    if (err instanceof ConfigError) die(err.message, 2); // e.g. an enrich.countryDb that cannot be read
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
    config: { type: "string" },
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
  const dataDir = dataDirOf(values);
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
        config: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError(parseMessage(err));
  }
  const { values, positionals } = parsedArgs;
  if (positionals.length !== 1) throw new UsageError("analyze: expected exactly one FILE.eml");
  const file = positionals[0]!;
  const sensorIps = values["sensor-ip"] ?? loadConfig({ configFile: values.config }).sensorIps;
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
    sensorIps,
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
  const { values } = parse(argv, { config: { type: "string" }, "data-dir": { type: "string" }, "sensor-ip": { type: "string", multiple: true } });
  const config = configOf(values);
  const { reanalyzeStore } = await import("./store/sqlite/reanalyze.js");
  const { NoStoreError } = await import("./store/sqlite/reader.js");
  const { analyzeRaw } = await import("./analysis/index.js");
  const sensorIps = values["sensor-ip"] ?? config.sensorIps;
  try {
    const r = await reanalyzeStore(config.dataDir, async (row) => {
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
  if (action !== "on" && action !== "off" && action !== "status") throw new UsageError("delivery: expected on, off or status");
  const { values } = parse(rest, { "data-dir": { type: "string" }, config: { type: "string" } });
  const config = configOf(values);
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
  const config = configOf(values);
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

/** Two answers read from the terminal without echo (prompts on stderr); Ctrl-C exits 130, Ctrl-D is an error. */
async function askHiddenTwice(first: string, second: string): Promise<[string, string]> {
  const { createInterface } = await import("node:readline");
  const { Writable } = await import("node:stream");
  let muted = false;
  // readline echoes what is typed through its output: nothing gets through while a password is being typed.
  const output = new Writable({
    write(chunk, _enc, done) {
      if (!muted) process.stderr.write(chunk as Buffer);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  rl.on("SIGINT", () => {
    process.stderr.write("\n");
    process.exit(130);
  });
  // Lines are queued by the iterator: a second line typed ahead is not lost.
  const lines = rl[Symbol.asyncIterator]();
  const ask = async (prompt: string): Promise<string> => {
    muted = false;
    process.stderr.write(prompt);
    muted = true;
    const next = await lines.next();
    muted = false;
    process.stderr.write("\n");
    if (next.done) throw new UsageError("hash-password: no password given");
    return next.value;
  };
  try {
    return [await ask(first), await ask(second)];
  } finally {
    rl.close();
  }
}

async function cmdHashPassword(argv: string[]): Promise<void> {
  parse(argv, {});
  let password: string;
  if (process.stdin.isTTY) {
    const [a, b] = await askHiddenTwice("Password: ", "Again: ");
    if (a !== b) die("hash-password: the two passwords differ", 1);
    password = a;
  } else {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
  }
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
    throw new UsageError(parseMessage(err));
  }
  const { values, positionals } = parsedArgs;
  if (positionals.length !== 1) throw new UsageError("import: expected exactly one PATH");
  const { existsSync } = await import("node:fs");
  if (!existsSync(positionals[0]!)) die(`import: ${positionals[0]} does not exist`, 2);
  // The sensor's storage settings decide how long imported history is kept: import says so when they matter.
  const config = configOf(values);
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
    keep: { type: "boolean" },
  });
  const days = Number(values.days ?? "420");
  const intervalMs = Number(values["interval-ms"] ?? "2500");
  if (!Number.isInteger(days) || days < 0 || days > 20 * 365) throw new UsageError("--days: expected a whole number of days (0..7300)");
  if (!Number.isInteger(intervalMs) || intervalMs < 50) throw new UsageError("--interval-ms: expected milliseconds (>= 50)");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { runDemo, DEMO_SENSOR_IP } = await import("./web/demo.js");
  const dataDir = values["data-dir"] ?? mkdtempSync(join(tmpdir(), "relaytrap-demo-"));
  // A temporary data directory is the demo's own: removed however the process ends (after a graceful stop, the store
  // is closed by then), unless --keep. A --data-dir is the operator's and always stays.
  const temporary = values["data-dir"] === undefined && !values.keep;
  if (temporary) {
    process.on("exit", () => {
      try {
        rmSync(dataDir, { recursive: true, force: true });
        process.stdout.write(`relaytrap: demo: removed ${dataDir}\n`);
      } catch (err) {
        process.stderr.write(`relaytrap: demo: could not remove ${dataDir}: ${(err as Error).message}\n`);
      }
    });
  }
  const config = loadConfig({
    flags: {
      dataDir,
      smtpListen: values["smtp-listen"] ?? ["127.0.0.1:0"],
      webListen: values["web-listen"] ?? "127.0.0.1:8025",
      sensorIps: [DEMO_SENSOR_IP],
      hostname: "mail.example.org",
    },
  });
  process.stdout.write(
    `relaytrap: demo: data in ${dataDir}${temporary ? " (removed on exit; --keep keeps it)" : ""}${days > 0 ? `, seeding ${days} days of history` : ""}\n`,
  );
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
    throw new UsageError(parseMessage(err));
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
  if (action !== "confirm" && action !== "unconfirm") throw new UsageError("collector-dropbox: expected confirm or unconfirm ADDRESS");
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...COLLECTOR_DB_FLAGS, note: { type: "string" } } });
  } catch (err) {
    throw new UsageError(parseMessage(err));
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
    throw new UsageError(parseMessage(err));
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
  const config = configOf(values);
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
  if (format !== "misp" && format !== "csv" && format !== "json") throw new UsageError("feed: expected misp, csv or json");
  const { values } = parse(rest, {
    "data-dir": { type: "string" },
    config: { type: "string" },
    out: { type: "string" },
    since: { type: "string" },
    "include-private": { type: "boolean" },
  });
  if (format === "misp" && values.out === undefined) throw new UsageError("feed misp: --out DIR is required");
  const config = configOf(values);
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

/** The command being run: a usage error ends with its usage line. */
let current: string | undefined;

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h") {
    process.stdout.write(HELP + "\n");
    return;
  }
  if (cmd === "help") {
    if (rest[0] === "--help" || rest[0] === "-h") rest[0] = "help";
    const c = rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0]) ? COMMANDS[rest[0]] : undefined;
    if (rest[0] !== undefined && !c) throw new UsageError(`help: unknown command "${rest[0]}"`);
    process.stdout.write(c ? commandHelp(c) : HELP + "\n");
    return;
  }
  const help = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!help) throw new UsageError(`unknown command "${cmd}"`);
  current = cmd;
  // --help / -h anywhere before a "--" shows the command's help, whatever else is on the line.
  const end = rest.indexOf("--");
  if ((end === -1 ? rest : rest.slice(0, end)).some((a) => a === "--help" || a === "-h")) {
    process.stdout.write(commandHelp(help));
    return;
  }
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
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) die(err.message.split("\n").join("\nrelaytrap: "), 2);
  if (err instanceof UsageError) {
    const usage = current !== undefined ? COMMANDS[current]?.usage : undefined;
    die(`${err.message}\n${usage ? `usage: ${usage}  (relaytrap ${current} --help)` : "usage: relaytrap COMMAND [options]  (relaytrap help)"}`, 2);
  }
  die((err as Error).stack ?? String(err), 1);
});
