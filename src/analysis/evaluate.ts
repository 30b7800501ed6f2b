// Evaluation of the analyzer on the labelled corpus (test/fixtures/corpus: one .eml + one JSON sidecar each):
// precision, recall per style, tested-IP correctness and a confusion table by confidence. Used by `npm run eval`
// (bench/eval.mjs, which writes bench/RESULTS.md) and by corpus-eval.test.ts in CI: one function, one answer.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { analyze } from "./index.js";
import { parseMessage } from "./parse.js";
import type { Confidence, Envelope, Verdict } from "./types.js";

export interface Sidecar {
  label: "relay-test" | "negative";
  style: string;
  envelope: { clientIp: string; helo: string; mailFrom: string; rcptTo: string[] };
  sensorIp: string;
  testedIps: string[];
  dropboxes: string[];
  provenance: string;
}

export interface CaseResult {
  file: string;
  label: Sidecar["label"];
  style: string;
  kind: Verdict["kind"];
  confidence: Confidence | null;
  /** Predicted a relay test (kind "relay-test", certain or likely). */
  detected: boolean;
  /** For a detected relay test: every labelled tested IP found, and the first one reported is labelled. */
  ipRight: boolean;
  testedIps: string[];
  expectedIps: string[];
  dropboxesRight: boolean;
  why: string;
}

export interface Evaluation {
  withSensorIp: boolean;
  positives: number;
  negatives: number;
  truePositives: number;
  falsePositives: number;
  /** Detected tests whose tested IPs are not the labelled ones. */
  wrongIp: number;
  certainPositives: number;
  precision: number;
  recall: number;
  perStyle: Array<{ style: string; n: number; detected: number; certain: number; ipRight: number }>;
  /** label -> confidence (or "none") -> count. */
  confusion: Record<Sidecar["label"], Record<Confidence | "none", number>>;
  cases: CaseResult[];
}

export interface CorpusCase {
  file: string;
  raw: Buffer;
  sidecar: Sidecar;
}

/** The corpus: every .eml with its sidecar, sorted by name. */
export function loadCorpus(dir: string): CorpusCase[] {
  const out: CorpusCase[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".eml")).sort()) {
    const sidecar = JSON.parse(readFileSync(join(dir, `${f.slice(0, -4)}.json`), "utf8")) as Sidecar;
    out.push({ file: f, raw: readFileSync(join(dir, f)), sidecar });
  }
  return out;
}

function ipsRight(got: readonly string[], expected: readonly string[], sensorIps: readonly string[]): boolean {
  // An implicit test (the host only, "MX check"): right when it names no IP, or only the sensor's.
  if (expected.length === 0) return got.every((ip) => sensorIps.includes(ip));
  return expected.every((ip) => got.includes(ip)) && got[0] !== undefined && expected.includes(got[0]);
}

/** Analyze every case with (or without) its sidecar's sensor IP and score the verdicts against the labels. */
export async function evaluateCorpus(cases: readonly CorpusCase[], withSensorIp: boolean): Promise<Evaluation> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const s = c.sidecar;
    const env: Envelope = { clientIp: s.envelope.clientIp, helo: s.envelope.helo, mailFrom: s.envelope.mailFrom === "" ? null : s.envelope.mailFrom, rcptTo: s.envelope.rcptTo };
    const sensorIps = withSensorIp ? [s.sensorIp] : [];
    const v = analyze(await parseMessage(c.raw), env, sensorIps);
    const detected = v.kind === "relay-test";
    const label = s.label === "negative" ? "negative" : "relay-test";
    results.push({
      file: c.file,
      label,
      style: s.style,
      kind: v.kind,
      confidence: v.confidence ?? null,
      detected,
      ipRight: detected && ipsRight(v.testedIps, s.testedIps, sensorIps),
      testedIps: v.testedIps,
      expectedIps: s.testedIps,
      dropboxesRight: !detected || s.dropboxes.every((d) => v.dropboxes.includes(d.toLowerCase())),
      why: (v.reasons ?? [])[0] ?? v.evidence.map((e) => `${e.decoder}:${e.field}`).slice(0, 3).join(", "),
    });
  }
  const pos = results.filter((r) => r.label === "relay-test");
  const neg = results.filter((r) => r.label === "negative");
  const tp = pos.filter((r) => r.detected).length;
  const fp = neg.filter((r) => r.detected).length;
  const styles = new Map<string, CaseResult[]>();
  for (const r of pos) styles.set(r.style, [...(styles.get(r.style) ?? []), r]);
  const confusion: Evaluation["confusion"] = {
    "relay-test": { certain: 0, likely: 0, possible: 0, none: 0 },
    negative: { certain: 0, likely: 0, possible: 0, none: 0 },
  };
  for (const r of results) confusion[r.label][r.confidence ?? "none"]++;
  return {
    withSensorIp,
    positives: pos.length,
    negatives: neg.length,
    truePositives: tp,
    falsePositives: fp,
    wrongIp: pos.filter((r) => r.detected && !r.ipRight).length,
    certainPositives: pos.filter((r) => r.detected && r.confidence === "certain").length,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: pos.length === 0 ? 1 : tp / pos.length,
    perStyle: [...styles].sort(([a], [b]) => a.localeCompare(b)).map(([style, rs]) => ({
      style,
      n: rs.length,
      detected: rs.filter((r) => r.detected).length,
      certain: rs.filter((r) => r.detected && r.confidence === "certain").length,
      ipRight: rs.filter((r) => r.ipRight).length,
    })),
    confusion,
    cases: results,
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** The evaluation as a Markdown section (bench/RESULTS.md). */
export function evaluationMarkdown(evals: readonly Evaluation[]): string {
  const lines: string[] = [];
  for (const e of evals) {
    lines.push(`### ${e.withSensorIp ? "With" : "Without"} \`--sensor-ip\``, "");
    lines.push(`- ${e.positives} relay tests in ${e.perStyle.length} styles, ${e.negatives} hard negatives`);
    lines.push(`- precision ${pct(e.precision)} (${e.falsePositives} false positives), recall ${pct(e.recall)} (${e.truePositives}/${e.positives}), certain ${e.certainPositives}/${e.positives}`);
    lines.push(`- detected tests with a wrong tested IP: ${e.wrongIp}`, "");
    lines.push("| label \\ verdict | certain | likely | possible | none |", "|---|---|---|---|---|");
    for (const label of ["relay-test", "negative"] as const) {
      const c = e.confusion[label];
      lines.push(`| ${label} | ${c.certain} | ${c.likely} | ${c.possible} | ${c.none} |`);
    }
    lines.push("", "| style | n | detected | certain | IP right |", "|---|---|---|---|---|");
    for (const s of e.perStyle) lines.push(`| ${s.style} | ${s.n} | ${s.detected} | ${s.certain} | ${s.ipRight} |`);
    const bad = e.cases.filter((r) => (r.label === "negative" ? r.detected : !r.detected || !r.ipRight));
    if (bad.length > 0) {
      lines.push("", "Misclassified:");
      for (const r of bad) lines.push(`- ${r.file}: ${r.kind}/${r.confidence ?? "none"} ips ${JSON.stringify(r.testedIps)} (want ${JSON.stringify(r.expectedIps)}): ${r.why}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}
