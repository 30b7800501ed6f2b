// The transcript cap: long lines are cut, lines past maxTranscriptBytes are counted out, not kept.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createTranscript, MAX_TRANSCRIPT_LINE } from "./record.js";

test("a transcript keeps lines in order and cuts a long one", () => {
  const t = createTranscript(64 * 1024, Date.now());
  t.record("c", "EHLO x");
  t.record("s", "y".repeat(MAX_TRANSCRIPT_LINE + 10));
  assert.deepEqual(t.lines.map((l) => [l.dir, l.line.length]), [["c", 6], ["s", MAX_TRANSCRIPT_LINE + 1]]);
  assert.equal(t.truncated, false);
});

test("a transcript stops at its byte cap and says so", () => {
  const t = createTranscript(100, Date.now());
  for (let i = 0; i < 10; i++) t.record("c", "NOOP NOOP NOOP");
  assert.equal(t.truncated, true);
  assert.equal(t.lines.length, 3);
  t.record("c", "x");
  assert.equal(t.lines.length, 3);
});
