// The fleet collector's commands: `collector`, `collector-token` (new, revoke), `collector-dropbox`.
import { parseArgs } from "node:util";
import { UsageError, die, parseMessage, parse, stopOnSignals } from "./args.js";
import { loadConfig, type RawConfig } from "../config/load.js";

export async function cmdCollector(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: "string" }, listen: { type: "string" }, "database-url": { type: "string" } });
  const collectorFlags: RawConfig = {};
  if (values.listen !== undefined) collectorFlags.listen = values.listen;
  if (values["database-url"] !== undefined) collectorFlags.databaseUrl = values["database-url"];
  const config = loadConfig({ configFile: values.config, flags: { collector: collectorFlags } });
  const { createCollector } = await import("../collector/server.js");
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
export async function withCollectorDb<T>(values: { config?: string | undefined; "database-url"?: string | undefined }, what: string, fn: (pool: import("../store/postgres/db.js").PgPool) => Promise<T>): Promise<T> {
  const flags: RawConfig = values["database-url"] !== undefined ? { collector: { databaseUrl: values["database-url"] } } : {};
  const config = loadConfig({ configFile: values.config, flags });
  const url = config.collector.databaseUrl;
  if (!url) throw new UsageError(`${what}: no database URL (--database-url or collector.databaseUrl)`);
  const { migratePg, openPgPool } = await import("../store/postgres/db.js");
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

export const COLLECTOR_DB_FLAGS = { config: { type: "string" }, "database-url": { type: "string" } } as const;

/** `relaytrap collector-token revoke NAME`: the sensor's pushes are refused and its sightings stop counting. */
export async function cmdCollectorTokenRevoke(argv: string[]): Promise<void> {
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: argv, allowPositionals: true, strict: true, options: COLLECTOR_DB_FLAGS });
  } catch (err) {
    throw new UsageError(parseMessage(err));
  }
  const name = parsedArgs.positionals[0];
  if (parsedArgs.positionals.length !== 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(name ?? "")) throw new UsageError("collector-token revoke: expected one sensor NAME");
  const { revokeSensor } = await import("../store/postgres/collector.js");
  const found = await withCollectorDb(parsedArgs.values, "collector-token revoke", (pool) => revokeSensor(pool, name!));
  if (!found) die(`collector-token revoke: no sensor "${name}" has pushed to this collector`, 2);
  process.stdout.write(
    `relaytrap: sensor ${name} revoked: its pushes are refused and its sightings no longer count in the shared dropbox list; remove its entry from collector.tokens too\n`,
  );
}

/** `relaytrap collector-dropbox confirm|unconfirm ADDRESS`: an operator's word makes a pooled dropbox known. */
export async function cmdCollectorDropbox(argv: string[]): Promise<void> {
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
  const { setDropboxConfirmed } = await import("../store/postgres/collector.js");
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

export async function cmdCollectorToken(argv: string[]): Promise<void> {
  if (argv[0] === "revoke" && argv.length > 1) return cmdCollectorTokenRevoke(argv.slice(1));
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args: argv, allowPositionals: true, strict: true, options: {} });
  } catch (err) {
    throw new UsageError(parseMessage(err));
  }
  const name = parsedArgs.positionals[0];
  if (parsedArgs.positionals.length !== 1 || !/^[A-Za-z0-9._-]{1,64}$/.test(name ?? "")) throw new UsageError("collector-token: expected one sensor NAME ([A-Za-z0-9._-])");
  const { newToken, hashToken } = await import("../collector/auth.js");
  const token = newToken();
  process.stdout.write(`sensor:     collectorToken: ${token}\ncollector:  collector.tokens: ["${name}:${hashToken(token)}"]\n`);
}
