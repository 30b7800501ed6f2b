// The sensor side of the fleet (src/fleet/, its SQLite outbox) and the collector server (src/collector/, its PostgreSQL
// store) are two programs: checked on the source tree, they meet only in src/fleet/protocol.ts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";

const SRC = fileURLToPath(new URL("../../../src/", import.meta.url));
const SHARED = "fleet/protocol.ts";
const SENSOR_SIDE = ["fleet/", "store/sqlite/collector.ts"];
const SERVER_SIDE = ["collector/", "store/postgres/"];

const within = (rel: string, roots: string[]) => rel !== SHARED && roots.some((r) => (r.endsWith("/") ? rel.startsWith(r) : rel === r));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** The source files a file imports (relative specifiers only; .js resolved to the .ts beside it). */
function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:from\s*|import\(\s*)["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(dirname(file), s.replace(/\.js$/, ".ts"))).split("\\").join("/"));
}

it("the push client side and the collector server import nothing of each other but fleet/protocol.ts", () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    const rel = relative(SRC, file).split("\\").join("/");
    if (rel.endsWith(".test.ts")) continue; // end-to-end tests start both programs
    const other = within(rel, SENSOR_SIDE) ? SERVER_SIDE : within(rel, SERVER_SIDE) ? SENSOR_SIDE : null;
    if (!other) continue;
    for (const target of imports(file)) if (within(target, other)) offenders.push(`${rel} -> ${target}`);
  }
  assert.deepEqual(offenders, []);
});

it("finds a crossing import (the check above is not vacuous)", () => {
  const pusher = join(SRC, "fleet/push.ts");
  assert.ok(imports(pusher).includes("fleet/protocol.ts"));
  assert.ok(within("collector/server.ts", SERVER_SIDE) && within("fleet/client.ts", SENSOR_SIDE) && !within(SHARED, SENSOR_SIDE));
});
