// `report` (ARF / X-ARF for one stored message) and `feed` (MISP, CSV, JSON).
import { UsageError, die, parse, configOf, parseSince, openStoreOrDie } from "./args.js";

export async function cmdReport(argv: string[]): Promise<void> {
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
  const { buildReportForMessage } = await import("../reports/index.js");
  const reader = await openStoreOrDie(config.dataDir);
  try {
    const out = await buildReportForMessage(reader, Number(values.message), { config, format, kind, to: values.to ?? null, includePrivate: values["include-private"] === true });
    process.stdout.write(out);
  } catch (err) {
    die(`report: ${(err as Error).message}`, 2);
  } finally {
    reader.close();
  }
}

export async function cmdFeed(argv: string[]): Promise<void> {
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
  const { feedData } = await import("../store/sqlite/feeds.js");
  const feeds = await import("../reports/feeds.js");
  const reader = await openStoreOrDie(config.dataDir);
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
