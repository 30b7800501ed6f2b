// A throw-away PostgreSQL cluster for tests: initdb into a temp dir, pg_ctl start on a free loopback port, stop at the
// end. initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` OS user (runuser).
import { execFile } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Where Debian puts the server binaries; the newest version found wins. */
const PG_ROOT = "/usr/lib/postgresql";
/** Longest a cluster may take to start before the tests give up. */
const START_TIMEOUT_S = 60;

export interface TestPostgres {
  url: string;
  port: number;
  /** A fresh database on this cluster; returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export function pgBinDir(): string | null {
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => existsSync(join(PG_ROOT, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(PG_ROOT, versions[0], "bin") : null;
}

/** Why PostgreSQL tests cannot run here, or null when they can (for t.skip). */
export function postgresUnavailable(): string | null {
  if (process.platform !== "linux") return "PostgreSQL tests need Linux with Debian's postgresql package";
  if (pgBinDir() === null) return `PostgreSQL is not installed (no ${PG_ROOT}/*/bin/initdb; apt-get install postgresql)`;
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function asPostgres(bin: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ["runuser", ["-u", "postgres", "--", bin, ...args]];
  return [bin, args];
}

/** fsync: false (default) for fast tests; true for honest benchmarks. */
export async function startPostgres(opts: { fsync?: boolean } = {}): Promise<TestPostgres> {
  const bin = pgBinDir();
  if (bin === null) throw new Error(postgresUnavailable() ?? "no PostgreSQL");
  const dir = mkdtempSync(join(tmpdir(), "relaytrap-pg-"));
  const data = join(dir, "data");
  if (process.getuid?.() === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    chmodSync(dir, 0o700);
  }
  const exec = async (name: string, args: string[]) => {
    const [cmd, argv] = asPostgres(join(bin, name), args);
    await run(cmd, argv, { timeout: START_TIMEOUT_S * 1000 });
  };
  await exec("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await exec("pg_ctl", [
        "-D",
        data,
        "-l",
        join(dir, "log"),
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=${opts.fsync ? "on" : "off"} -c max_connections=200`,
        "-w",
        "-t",
        String(START_TIMEOUT_S),
        "start",
      ]);
      break;
    } catch (err) {
      if (attempt >= 2) throw err; // the port was taken between freePort() and start: try another
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    async createDatabase(name) {
      const [cmd, argv] = asPostgres(join(bin, "createdb"), ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name]);
      await run(cmd, argv);
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await exec("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
