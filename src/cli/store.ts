// Commands over a sensor's store: `export`, `analyze` (one message, --explain), `reanalyze`, `import`.
import { UsageError, die, parse, configOf, dataDirOf, parseSince, parseWithOperands, openStoreOrDie } from "./args.js";
import { defaultHostname, loadConfig } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { sensorNameSet } from "../analysis/sensor-names.js";

export async function cmdExport(argv: string[]): Promise<void> {
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
  const { exportMessages } = await import("../store/export.js");
  const dataDir = dataDirOf(values);
  const reader = await openStoreOrDie(dataDir);
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
    const { describeStoreError, DB_FILE } = await import("../store/sqlite/db.js");
    const { join } = await import("node:path");
    die(`export stopped after ${written} messages: ${describeStoreError(join(dataDir, DB_FILE), err as Error).split(": the file is damaged")[0]}`, 1);
  }
  reader.close();
}

export async function cmdAnalyze(argv: string[]): Promise<void> {
  const { values, positionals } = parseWithOperands(argv, {
        "sensor-ip": { type: "string", multiple: true },
        "client-ip": { type: "string" },
        helo: { type: "string" },
        "mail-from": { type: "string" },
        rcpt: { type: "string", multiple: true },
        explain: { type: "boolean" },
        config: { type: "string" },
      });
  if (positionals.length !== 1) throw new UsageError("analyze: expected exactly one FILE.eml");
  const file = positionals[0]!;
  const config = loadConfig({ configFile: values.config });
  const sensorIps = values["sensor-ip"] ?? config.sensorIps;
  const { readFileSync } = await import("node:fs");
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (err) {
    die(`analyze: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 2);
  }
  const { analyzeRaw } = await import("../analysis/index.js");
  const { parsed, verdict } = await analyzeRaw(
    raw,
    { clientIp: values["client-ip"] ?? "", helo: values.helo ?? null, mailFrom: values["mail-from"] ?? null, rcptTo: values.rcpt ?? [] },
    sensorIps,
    { sensorNames: sensorNamesOf(config) },
  );
  // A message starts with header fields ("Name: value"); anything else (binary, empty, a random text file) is not one.
  const validHeaders = parsed.headers.filter((h) => /^[!-9;-~]+$/.test(h.key));
  if (parsed.parseError !== null || validHeaders.length === 0) die(`analyze: ${file} is not an RFC 5322 message${parsed.parseError ? `: ${parsed.parseError}` : " (no header fields)"}`, 2);
  if (values.explain) {
    const { explainVerdict } = await import("../analysis/explain.js");
    process.stdout.write(explainVerdict(verdict));
  } else process.stdout.write(JSON.stringify(verdict) + "\n");
}

export async function cmdReanalyze(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" }, "data-dir": { type: "string" }, "sensor-ip": { type: "string", multiple: true } });
  const config = configOf(values);
  const { reanalyzeStore } = await import("../store/sqlite/reanalyze.js");
  const { NoStoreError } = await import("../store/sqlite/reader.js");
  const { analyzeRaw } = await import("../analysis/index.js");
  const sensorIps = values["sensor-ip"] ?? config.sensorIps;
  const sensorNames = sensorNamesOf(config);
  try {
    const r = await reanalyzeStore(config.dataDir, async (row) => {
      const env = { clientIp: row.srcIp, helo: row.helo, mailFrom: row.mailFrom, rcptTo: row.rcptTo };
      const { parsed, verdict } = await analyzeRaw(row.raw, env, [...sensorIps, row.destIp], { sensorNames });
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

export async function cmdImport(argv: string[]): Promise<void> {
  const { values, positionals } = parseWithOperands(argv, { "data-dir": { type: "string" }, "sensor-ip": { type: "string", multiple: true }, config: { type: "string" } });
  if (positionals.length !== 1) throw new UsageError("import: expected exactly one PATH");
  const { existsSync } = await import("node:fs");
  if (!existsSync(positionals[0]!)) die(`import: ${positionals[0]} does not exist`, 2);
  // The sensor's storage settings decide how long imported history is kept: import says so when they matter.
  const config = configOf(values);
  const st = config.storage;
  const { importArchive } = await import("../web/import.js");
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

/** The sensor's own names as live ingest passes them (src/sensor.ts): role mail to them is never a relay test. */
function sensorNamesOf(config: Config): ReadonlySet<string> {
  return sensorNameSet([config.hostname ?? defaultHostname()]);
}
