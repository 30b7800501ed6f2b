#!/usr/bin/env node
// Summarises V8 .cpuprofile files (node --cpu-prof): self time aggregated by function + url, and by package.
//
//   node bench/cpuprofile-top.mjs DIR_OR_FILE... [--top N] [--markdown]
// Each file is one thread (relaytrap's main thread and its SQLite writer worker write separate files).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";

const args = process.argv.slice(2);
let top = 10;
let markdown = false;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--top") top = Number(args[++i]);
  else if (args[i] === "--markdown") markdown = true;
  else inputs.push(args[i]);
}
if (inputs.length === 0) {
  process.stderr.write("usage: node bench/cpuprofile-top.mjs DIR_OR_FILE... [--top N] [--markdown]\n");
  process.exit(2);
}
const files = inputs.flatMap((p) =>
  statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith(".cpuprofile")).sort().map((f) => join(p, f)) : [p],
);

/** Short location: path from node_modules/<pkg> or from dist/, else the url as is ("" for VM builtins). */
function shortUrl(url) {
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) return url.slice(nm + "node_modules/".length);
  const d = url.indexOf("/dist/");
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, "");
}

/** Which package/area a frame belongs to. */
function area(fn, url) {
  if (!url) return fn.startsWith("(") ? fn : "(native / V8 builtin)";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const rest = url.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith("node:")) return "node core";
  const d = url.indexOf("/dist/src/");
  if (d >= 0) return "relaytrap " + url.slice(d + "/dist/src/".length).split("/")[0];
  return url;
}

/** Per file: total ms and Maps of ms by "fn url:line" and by area. Sample i lasts timeDeltas[i + 1]. */
function summarise(file) {
  const p = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i + 1] ?? 0;
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt);
  }
  const byFn = new Map();
  const byArea = new Map();
  let total = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const fn = cf.functionName || "(anonymous)";
    const key = cf.url ? `${fn} ${shortUrl(cf.url)}:${cf.lineNumber + 1}` : fn;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    const a = area(fn, cf.url);
    byArea.set(a, (byArea.get(a) ?? 0) + us);
    total += us;
  }
  return { file, total, byFn, byArea, wall: (p.endTime - p.startTime) };
}

function table(title, map, total, n) {
  const rows = [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  if (markdown) {
    const out = [`**${title}**`, "", "| # | self ms | % | function / location |", "|---:|---:|---:|---|"];
    rows.forEach(([k, us], i) => out.push(`| ${i + 1} | ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)} | \`${k}\` |`));
    return out.join("\n") + "\n";
  }
  return [title, ...rows.map(([k, us], i) => `${String(i + 1).padStart(3)} ${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)].join("\n") + "\n";
}

// One summary per file (thread).
const sums = files.map(summarise);
for (const s of sums) {
  const idle = s.byFn.get("(idle)") ?? 0;
  const head = `${basename(s.file)}: ${(s.total / 1000).toFixed(0)} ms sampled, ${((100 * idle) / s.total).toFixed(1)}% idle`;
  process.stdout.write((markdown ? `\n${head}\n\n` : `\n== ${head}\n`) + table(`top ${top} self time by function`, s.byFn, s.total, top) + "\n" + table("self time by package / area", s.byArea, s.total, 12));
}
