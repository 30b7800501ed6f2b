// What every command shares: argument parsing with usage errors, the config a data command runs with, dying with
// one line, graceful stop on signals.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { loadConfig } from "../config/load.js";

/** Bad usage: the message, then the command's usage line, exit 2. */
export class UsageError extends Error {}

export function die(msg: string, code: number): never {
  process.stderr.write(`relaytrap: ${msg}\n`);
  process.exit(code);
}

/** node:util parseArgs's error without its hint about "--" (the usage line follows instead). */
export function parseMessage(err: unknown): string {
  return ((err as Error).message.split("\n")[0] ?? "").replace(/\. To specify a positional argument.*$/, "");
}

export function parse<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (err) {
    throw new UsageError(parseMessage(err));
  }
}

/** `parse` for a command that also takes operands (FILE, PATH). */
export function parseWithOperands<const O extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseMessage(err));
  }
}

/** The sensor's store, read-only; a data dir without one ends the command with one line, exit 2. */
export async function openStoreOrDie(dataDir: string): Promise<import("../store/types.js").StoreReader> {
  const { openSqliteReader, NoStoreError } = await import("../store/sqlite/reader.js");
  try {
    return openSqliteReader(dataDir);
  } catch (err) {
    if (err instanceof NoStoreError) die(err.message, 2);
    throw err;
  }
}

/** The config a data command runs with: --config (or RELAYTRAP_CONFIG), RELAYTRAP_*, then --data-dir. */
export function configOf(values: { config?: string | undefined; "data-dir"?: string | undefined }) {
  return loadConfig({ configFile: values.config, flags: values["data-dir"] !== undefined ? { dataDir: values["data-dir"] } : {} });
}

export function dataDirOf(values: { config?: string | undefined; "data-dir"?: string | undefined }): string {
  return configOf(values).dataDir;
}

/** SIGTERM/SIGINT: close gracefully once, then exit 0 (or 1 with the error). */
export function stopOnSignals(close: () => Promise<void>): void {
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
