// Runs every compiled test file (dist/**/*.test.js) with node's test runner. Node 20's --test has no globs, and a
// directory argument would also run helpers and fixtures as tests.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

// The real peers the suite drives, each with the Debian package that brings it. Missing ones are installed when
// this runs as root on Debian (scripts/install-test-deps.sh); otherwise the run stops here with one line, rather
// than deep inside a test.
const TOOLS = [
  { what: "smtp-source", pkg: "postfix", ok: () => existsSync("/usr/sbin/smtp-source") },
  { what: "swaks", pkg: "swaks", ok: () => existsSync("/usr/bin/swaks") },
  { what: "Net::SSLeay (swaks TLS)", pkg: "libnet-ssleay-perl", ok: () => spawnSync("perl", ["-MNet::SSLeay", "-e1"]).status === 0 },
  { what: "chromium", pkg: "chromium", ok: () => existsSync("/usr/bin/chromium") },
  { what: "initdb", pkg: "postgresql", ok: () => existsSync("/usr/lib/postgresql") && readdirSync("/usr/lib/postgresql").some((v) => existsSync(join("/usr/lib/postgresql", v, "bin", "initdb"))) },
];
const INSTALL = "scripts/install-test-deps.sh";

function preflight() {
  let missing = TOOLS.filter((t) => !t.ok());
  if (missing.length && process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    process.stderr.write(`npm test: installing ${missing.map((t) => t.pkg).join(" ")} (${INSTALL})\n`);
    spawnSync("bash", [INSTALL], { stdio: "inherit" });
    missing = missing.filter((t) => !t.ok());
  }
  if (missing.length) {
    process.stderr.write(`npm test: missing ${missing.map((t) => `${t.what} (${t.pkg})`).join(", ")}; install with: sudo ${INSTALL}\n`);
    process.exit(1);
  }
}

if (!process.env.RELAYTRAP_TEST_NO_PREFLIGHT) preflight();

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
