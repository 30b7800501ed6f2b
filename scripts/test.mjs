// Runs every compiled test file (dist/**/*.test.js) with node's test runner. Node 20's --test has no globs, and a
// directory argument would also run helpers and fixtures as tests.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const files = find("dist").sort();
const extra = process.argv.slice(2);
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=2", "--test-timeout=300000", ...extra, ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
