// The labelled evaluation corpus (test/fixtures/corpus, issue 15) stays well-formed: every .eml has a sidecar in the
// agreed format, is CRLF throughout, and parses with parseMessage. Read from the repository, never from dist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { fileURLToPath } from "node:url";
import { parseMessage } from "./parse.js";

// dist/src/analysis/ -> repository root
const CORPUS = fileURLToPath(new URL("../../../test/fixtures/corpus/", import.meta.url));

/** The negatives the corpus promises at least (issue 15). */
const MIN_NEGATIVES = 75;

const LABELS = new Set(["relay-test", "negative"]);
const SIDECAR_KEYS = ["dropboxes", "envelope", "label", "provenance", "sensorIp", "style", "testedIps"];
const ENVELOPE_KEYS = ["clientIp", "helo", "mailFrom", "rcptTo"];
const STYLE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

const emls = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => f.endsWith(".eml")).sort() : [];

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === "string");
}

/** What is wrong with a sidecar (empty when nothing is), for the message file `name`. */
function sidecarProblems(name: string, side: unknown): string[] {
  const out: string[] = [];
  if (!isObject(side)) return ["not a JSON object"];
  const keys = Object.keys(side).sort();
  if (keys.join() !== SIDECAR_KEYS.join()) out.push(`keys ${keys.join(",")} (want ${SIDECAR_KEYS.join(",")})`);
  if (typeof side.label !== "string" || !LABELS.has(side.label)) out.push(`label ${JSON.stringify(side.label)}`);
  if (typeof side.style !== "string" || !STYLE.test(side.style)) out.push(`style ${JSON.stringify(side.style)}`);
  else if (name.startsWith("neg-") && !new RegExp(`^neg-${side.style}-\\d+\\.eml$`).test(name)) out.push(`style ${side.style} is not the kind in the file name`);
  if (name.startsWith("neg-") && side.label !== "negative") out.push("neg- file not labelled negative");
  if (name.startsWith("pos-") && side.label !== "relay-test") out.push("pos- file not labelled relay-test");
  if (typeof side.sensorIp !== "string" || isIP(side.sensorIp) === 0) out.push(`sensorIp ${JSON.stringify(side.sensorIp)}`);
  if (typeof side.provenance !== "string" || side.provenance.trim() === "") out.push("no provenance");
  if (!isStringArray(side.testedIps) || !side.testedIps.every((ip) => isIP(ip) !== 0)) out.push("testedIps not an array of IPs");
  if (!isStringArray(side.dropboxes) || !side.dropboxes.every((d) => d.includes("@"))) out.push("dropboxes not an array of addresses");
  if (side.label === "negative" && (side.testedIps as unknown[]).length + (side.dropboxes as unknown[]).length > 0) out.push("a negative names tested IPs or dropboxes");
  const env = side.envelope;
  if (!isObject(env)) out.push("envelope not an object");
  else {
    const ek = Object.keys(env).sort();
    if (ek.join() !== ENVELOPE_KEYS.join()) out.push(`envelope keys ${ek.join(",")}`);
    if (typeof env.clientIp !== "string" || isIP(env.clientIp) === 0) out.push(`envelope.clientIp ${JSON.stringify(env.clientIp)}`);
    if (typeof env.helo !== "string") out.push("envelope.helo not a string");
    // "" is the null sender <> (as the SMTP layer stores it)
    if (typeof env.mailFrom !== "string") out.push("envelope.mailFrom not a string");
    if (!isStringArray(env.rcptTo) || env.rcptTo.length === 0) out.push("envelope.rcptTo not a non-empty array of strings");
  }
  return out;
}

/** Offsets of LF bytes not preceded by CR. */
function bareLineFeeds(raw: Buffer): number[] {
  const out: number[] = [];
  for (let i = raw.indexOf(0x0a); i >= 0 && out.length < 3; i = raw.indexOf(0x0a, i + 1)) if (i === 0 || raw[i - 1] !== 0x0d) out.push(i);
  return out;
}

test("corpus: at least MIN_NEGATIVES negatives", () => {
  const negatives = emls.filter((f) => f.startsWith("neg-"));
  assert.ok(negatives.length >= MIN_NEGATIVES, `${negatives.length} negatives in ${CORPUS}`);
});

test("corpus: every .eml has a sidecar in the agreed format, and every sidecar a message", () => {
  const problems: string[] = [];
  for (const f of emls) {
    const sidecar = `${CORPUS}${f.slice(0, -4)}.json`;
    if (!existsSync(sidecar)) {
      problems.push(`${f}: no sidecar`);
      continue;
    }
    let side: unknown;
    try {
      side = JSON.parse(readFileSync(sidecar, "utf8"));
    } catch (err) {
      problems.push(`${f}: sidecar does not parse: ${String(err)}`);
      continue;
    }
    for (const p of sidecarProblems(f, side)) problems.push(`${f}: ${p}`);
  }
  const jsons = existsSync(CORPUS) ? readdirSync(CORPUS).filter((f) => /^(neg|pos)-.*\.json$/.test(f)) : [];
  for (const j of jsons) if (!emls.includes(`${j.slice(0, -5)}.eml`)) problems.push(`${j}: no .eml`);
  assert.deepEqual(problems, []);
});

test("corpus: every .eml is CRLF, has a header/body split and parses with parseMessage", async () => {
  const problems: string[] = [];
  for (const f of emls) {
    const raw = readFileSync(`${CORPUS}${f}`);
    const bare = bareLineFeeds(raw);
    if (bare.length > 0) problems.push(`${f}: bare LF at byte ${bare.join(", ")}`);
    if (raw.indexOf("\r\n\r\n") < 0) problems.push(`${f}: no empty line between header and body`);
    const p = await parseMessage(raw);
    if (p.parseError !== null) problems.push(`${f}: ${p.parseError}`);
    else if (p.headers.length === 0 || p.from === null) problems.push(`${f}: parsed without headers or From`);
  }
  assert.deepEqual(problems, []);
});
