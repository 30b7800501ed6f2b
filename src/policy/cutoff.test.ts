// Per-source storage cutoff: counts per window, sampling past the cutoff, bounded memory.
import assert from "node:assert/strict";
import { it } from "node:test";
import { createSourceCutoff } from "./cutoff.js";

const base = { windowMs: 1000, maxMessages: 3, maxBytes: 1_000_000, sampleEvery: 0, maxTrackedSources: 100 };

it("stores up to the cutoff, then drops, and starts over in the next window", () => {
  const c = createSourceCutoff(base);
  const d = [1, 2, 3, 4, 5].map(() => c.decide("192.0.2.1", 10, 0));
  assert.deepEqual(d, ["store", "store", "store", "drop", "drop"]);
  assert.equal(c.decide("192.0.2.2", 10, 0), "store");
  assert.equal(c.decide("192.0.2.1", 10, 1000), "store");
});

it("cuts off by bytes and samples every Nth body past the cutoff", () => {
  const c = createSourceCutoff({ ...base, maxMessages: 1000, maxBytes: 100, sampleEvery: 3 });
  const d = Array.from({ length: 8 }, () => c.decide("198.51.100.9", 40, 0));
  assert.deepEqual(d, ["store", "store", "drop", "drop", "sample", "drop", "drop", "sample"]);
});

it("carries counts over a restart through seed()", () => {
  const c = createSourceCutoff(base);
  c.seed("203.0.113.4", 3, 30, 0);
  assert.equal(c.decide("203.0.113.4", 10, 1), "drop");
});

it("forgets the oldest sources past maxTrackedSources", () => {
  const c = createSourceCutoff({ ...base, maxTrackedSources: 10 });
  for (let i = 0; i < 1000; i++) c.decide(`10.0.${i >> 8}.${i & 255}`, 1, 0);
  assert.equal(c.tracked, 10);
});
