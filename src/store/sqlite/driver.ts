// Which better-sqlite3 to load. Version 12 is the one that runs on Node 20; on Node 24 its statements crash the process
// when garbage-collected or at exit (an upstream bug, closed without a fix in 12.x), and version 13 (Node >= 22 only,
// installed as the optional dependency better-sqlite3-13) does not. Everything that opens SQLite goes through here.
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";

const require = createRequire(import.meta.url);

/** Node major version from which better-sqlite3 13 is used. */
const V13_FROM_NODE_MAJOR = 22;

function load(): typeof BetterSqlite3 {
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= V13_FROM_NODE_MAJOR) {
    try {
      return require("better-sqlite3-13") as typeof BetterSqlite3;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
      process.emitWarning(`better-sqlite3-13 is not installed; using better-sqlite3 12, which can crash on Node ${major} (run npm ci on this Node version)`);
    }
  }
  return require("better-sqlite3") as typeof BetterSqlite3;
}

const Database = load();
export default Database;
export type Database = BetterSqlite3.Database;
