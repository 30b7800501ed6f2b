// The pure choice of the session to evict when the trap is full (issue 14 item 8).
import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseEvictee, type EvictionCandidate } from "./admission.js";

interface S extends EvictionCandidate {
  name: string;
}
const s = (name: string, lastActive: number, storing: unknown = null): S => ({ name, lastActive, storing });

test("evicts the longest-idle session of the source holding the most sessions", () => {
  const crowd = new Set([s("c1", 300), s("c2", 100), s("c3", 200)]);
  const loner = new Set([s("l1", 1)]);
  assert.equal(chooseEvictee([loner, crowd])?.name, "c2");
});

test("never evicts a session storing a message", () => {
  const crowd = new Set([s("c1", 300), s("c2", 100, Promise.resolve())]);
  assert.equal(chooseEvictee([crowd, new Set([s("l1", 1)])])?.name, "c1");
});

test("on a tie in size the first source gives; none if all of it is storing", () => {
  const a = new Set([s("a1", 50), s("a2", 60)]);
  const b = new Set([s("b1", 1), s("b2", 2)]);
  assert.equal(chooseEvictee([a, b])?.name, "a1");
  const busy = new Set([s("x1", 1, true), s("x2", 2, true)]);
  assert.equal(chooseEvictee([busy, new Set([s("y", 0)])]), null);
  assert.equal(chooseEvictee([]), null);
});
