#!/usr/bin/env node
// `npm run eval`: the analyzer (dist) on the labelled corpus (test/fixtures/corpus), with and without the sensor IP:
// precision, recall per style, tested-IP correctness, a confusion table by confidence. Writes the "Analyzer
// evaluation" section of bench/RESULTS.md (replacing the previous one) unless --no-write; exits 1 when a gate fails
// (any false positive, recall < 98 %, a wrong tested IP). The CI test src/analysis/corpus-eval.test.ts runs the same
// evaluateCorpus.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { CLI, ROOT, requireBuilt } from "./lib.mjs";

const write = !process.argv.includes("--no-write");
requireBuilt();
const distDir = join(CLI, "..");
const { evaluateCorpus, evaluationMarkdown, loadCorpus } = await import(pathToFileURL(join(distDir, "analysis", "evaluate.js")).href);
const cases = loadCorpus(join(ROOT, "test", "fixtures", "corpus"));
const evals = [await evaluateCorpus(cases, true), await evaluateCorpus(cases, false)];
const section = `## Analyzer evaluation (\`npm run eval\`)\n\n${new Date().toISOString().slice(0, 10)}, corpus test/fixtures/corpus (${cases.length} messages). A detection is a verdict of kind relay-test (certain or likely); only certain ones act.\n\n${evaluationMarkdown(evals)}`;
process.stdout.write(section + "\n");
if (write) {
  const path = join(ROOT, "bench", "RESULTS.md");
  const old = readFileSync(path, "utf8");
  const start = old.indexOf("## Analyzer evaluation (`npm run eval`)");
  let next = start < 0 ? -1 : old.indexOf("\n## ", start + 10);
  const updated = start < 0 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, start)}${section}${next < 0 ? "" : old.slice(next)}`;
  writeFileSync(path, updated.endsWith("\n") ? updated : updated + "\n");
}
const failed = evals.some((e) => e.falsePositives > 0 || e.recall < 0.98 || e.wrongIp > 0);
process.exit(failed ? 1 : 0);
