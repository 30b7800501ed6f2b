// Opening the collector's PostgreSQL database: a pool, and numbered migrations (migrations/NNN_*.sql) applied at start,
// each in a transaction, recorded in schema_migrations. An advisory lock keeps two collectors from migrating at once.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export type PgPool = pg.Pool;

const MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
/** Arbitrary constant key of the advisory lock taken while migrating. */
const MIGRATION_LOCK_KEY = 0x7265_6c61;
/** Connections one collector keeps to PostgreSQL. */
export const PG_POOL_MAX = 10;
/** A connection attempt or a statement longer than this fails (the sensor retries the batch). */
export const PG_CONNECT_TIMEOUT_MS = 10_000;
export const PG_STATEMENT_TIMEOUT_MS = 60_000;

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

export function loadPgMigrations(dir = MIGRATIONS_DIR): PgMigration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(join(dir, f), "utf8") }));
}

// bigint (int8) columns hold millisecond times and counts well below 2^53: read them as numbers.
pg.types.setTypeParser(20, (v) => Number(v));

export function openPgPool(url: string, max = PG_POOL_MAX): PgPool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: PG_CONNECT_TIMEOUT_MS,
    statement_timeout: PG_STATEMENT_TIMEOUT_MS,
    application_name: "relaytrap-collector",
  });
  // An idle client losing its connection (server restart) must not crash the collector.
  pool.on("error", () => {});
  return pool;
}

/** Applies the migrations not yet applied; returns the names applied now. */
export async function migratePg(pool: PgPool, migrations = loadPgMigrations()): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set((await client.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query("BEGIN");
      try {
        await client.query(m.sql);
        await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw new Error(`migration ${m.name}: ${(err as Error).message}`);
      }
      applied.push(m.name);
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
  return applied;
}
