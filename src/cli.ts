#!/usr/bin/env node
// relaytrap command line: argument parsing only; the work is done by createSensor, exportMessages, ...
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError, loadConfig, type RawConfig } from "./config/load.js";
import { PERSONAS } from "./config/schema.js";

const HELP = `relaytrap - open-relay and open-proxy honeypot

Usage:
  relaytrap run [options]            run the sensor
  relaytrap export [options]         stream stored messages (safe while the sensor runs)
  relaytrap analyze FILE.eml [opts]  print the relay-test verdict of one message as JSON
  relaytrap reanalyze [--data-dir DIR] [--sensor-ip IP]...
                                     run the current analyzer over every stored message again
  relaytrap check-config [--config FILE]
                                     validate the config (file + environment) and print it, secrets masked
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

export options:
  --data-dir DIR           data directory (default ./data)
  --format jsonl|mbox      output format (default jsonl)
  --kind KIND              only messages of this kind (relay-test, spam, other, unknown)
  --since TIME             only messages received at or after TIME (ISO-8601, or 7d / 12h / 30m ago)
  --no-raw                 jsonl without the base64 raw message

analyze options:
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
} as const;

function runFlagsToConfig(v: Record<string, unknown>): RawConfig {
  const map: Record<string, string> = {
    "data-dir": "dataDir",
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
  process.stdout.write(`relaytrap: ready (data in ${config.dataDir})\n`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`relaytrap: ${sig}, stopping\n`);
    sensor.close().then(
      () => process.exit(0),
      (err: Error) => die(`error while stopping: ${err.message}`, 1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGHUP", () => sensor.reopenLogs());
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
  let reader;
  try {
    reader = openSqliteReader(values["data-dir"] ?? "./data");
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
  });
  await exportMessages(reader, process.stdout, {
    format,
    raw: !values["no-raw"],
    filter: {
      kind: values.kind as never,
      since: values.since !== undefined ? parseSince(values.since) : undefined,
    },
  });
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
  process.stdout.write(JSON.stringify(verdict) + "\n");
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
      return (await analyzeRaw(row.raw, env, [...sensorIps, row.destIp])).verdict;
    });
    process.stdout.write(`relaytrap: reanalyzed ${r.messages} messages, ${r.changed} changed kind\n`);
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
}

async function cmdCheckConfig(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" } });
  const config = loadConfig({ configFile: values.config });
  const { stringify } = await import("yaml");
  const { maskSecrets } = await import("./config/load.js");
  process.stdout.write("# relaytrap effective configuration (defaults < file < environment)\n" + stringify(maskSecrets(config)));
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
  if (err instanceof ConfigError || err instanceof UsageError) die(err.message, 2);
  die((err as Error).stack ?? String(err), 1);
});
