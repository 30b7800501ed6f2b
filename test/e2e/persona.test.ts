// Persona fidelity: replays the probe script recorded from a real Debian Postfix 3.7 (test/fixtures/postfix) against
// relaytrap and compares every reply.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { startSensor, tempDir, type TestSensor } from "../helpers/sensor.js";

const FIXTURES = fileURLToPath(new URL("../../../test/fixtures/postfix/", import.meta.url));

interface Step {
  reply?: unknown;
  ms?: number;
  /** A step repeated N times: `ms` is the total, `slowReplies.count` the replies that were deliberately delayed. */
  repeat?: number;
  slowReplies?: { count: number };
  distinct?: unknown;
  closed?: boolean;
  send?: string;
  sendText?: string;
  sendRawText?: string;
}
interface Recording {
  postfixVersion: string;
  sessions: Array<{ name: string; banner: string[]; steps: Step[]; slow?: boolean }>;
}

/** Replies as comparable text; queue ids are random on both sides. */
/** A reply slower than this was deliberately delayed (Postfix's 1 s error sleep). */
const SLOW_MS = 500;

function normalize(reply: unknown): string {
  return JSON.stringify(reply ?? null).replace(/queued as [0-9A-F]{10,12}"/g, 'queued as QUEUEID"');
}

async function replay(port: number, probes: string): Promise<Recording> {
  const out = join(tempDir(), "replay.json");
  await promisify(execFile)(process.execPath, [join(FIXTURES, "record.mjs"), "127.0.0.1", String(port), "--probes", join(FIXTURES, probes), "--out", out, "--skip-slow"], {
    timeout: 240_000,
  });
  return JSON.parse(readFileSync(out, "utf8")) as Recording;
}

function compare(real: Recording, ours: Recording, allowed: Record<string, string>): void {
  const byName = new Map(ours.sessions.map((s) => [s.name, s]));
  const mismatches: string[] = [];
  let compared = 0;
  for (const r of real.sessions) {
    const o = byName.get(r.name);
    if (!o) continue; // slow sessions are not replayed
    compared++;
    if (Object.hasOwn(allowed, r.name)) continue;
    if (JSON.stringify(r.banner) !== JSON.stringify(o.banner)) mismatches.push(`${r.name}: banner ${JSON.stringify(o.banner)}`);
    r.steps.forEach((step, i) => {
      const mine = o.steps[i];
      const a = normalize(step.reply);
      const b = normalize(mine?.reply);
      // Timing is part of the persona: a reply the real server delayed (error sleep) must be delayed here too.
      const slow = (ms: number | undefined) => (ms ?? 0) >= SLOW_MS;
      if (step.repeat !== undefined) {
        const a = step.slowReplies?.count ?? 0;
        const b = mine?.slowReplies?.count ?? 0;
        if (a !== b) mismatches.push(`${r.name} step ${i}: postfix delayed ${a} of ${step.repeat} replies, relaytrap ${b}`);
      } else if (slow(step.ms) !== slow(mine?.ms)) mismatches.push(`${r.name} step ${i}: postfix took ${step.ms} ms, relaytrap ${mine?.ms} ms`);
      if (a !== b || Boolean(step.closed) !== Boolean(mine?.closed)) {
        const sent = step.send ?? step.sendText ?? step.sendRawText ?? "";
        mismatches.push(`${r.name} step ${i} (${JSON.stringify(sent.slice(0, 60))}): postfix ${a}${step.closed ? " +close" : ""}, relaytrap ${b}${mine?.closed ? " +close" : ""}`);
      }
    });
  }
  assert.ok(compared > 20, `only ${compared} sessions compared`);
  assert.deepEqual(mismatches, [], "replies differ from the real Postfix:\n" + mismatches.join("\n"));
}

describe(`persona postfix against a recording of real Postfix`, () => {
  let t: TestSensor;
  before(async () => {
    // Real timing: Postfix's error sleep (1 s from the 10th error on) is part of what is compared.
    t = await startSensor({ limits: { errorSleepMs: 1000 } });
  });
  after(() => t.close());

  it("gives the same reply to every probe", async () => {
    const real = JSON.parse(readFileSync(join(FIXTURES, "postfix-3.7.json"), "utf8")) as Recording;
    const ours = await replay(t.port, "probes.json");
    compare(real, ours, {});
  });
});
