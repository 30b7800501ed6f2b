// The login rate limit under concurrency: attempts are counted before the password check, and a success does not
// wipe out the failures of other attempts (issue 14).
import assert from "node:assert/strict";
import { randomBytes, scryptSync } from "node:crypto";
import { describe, test } from "node:test";
import { createAuth } from "./auth.js";

/** A cheap hash in verifyPassword's format (N=16), so a burst of checks costs little time in a test. */
function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 16, r: 1, p: 1 });
  return `scrypt$16$1$1$${salt.toString("base64")}$${key.toString("base64")}`;
}

describe("login rate limit", () => {
  test("500 wrong logins at once from one address: 5 are evaluated, the rest limited", async () => {
    const auth = createAuth({ users: [{ name: "admin", passwordHash: cheapHash("right") }], sessionTtlMs: 60_000, attemptsPerMinute: 5 });
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => auth.login("192.0.2.7", "admin", `wrong${i}`)));
    const count = (r: string) => results.filter((x) => x.result === r).length;
    assert.equal(count("bad"), 5);
    assert.equal(count("limited"), 495);
    // Another address is not affected.
    assert.equal((await auth.login("192.0.2.8", "admin", "right")).result, "ok");
  });

  test("a correct login inside a burst of wrong ones does not reset the count", async () => {
    const auth = createAuth({ users: [{ name: "admin", passwordHash: cheapHash("right") }], sessionTtlMs: 60_000, attemptsPerMinute: 5 });
    const burst = Array.from({ length: 100 }, (_, i) => (i === 2 ? auth.login("192.0.2.7", "admin", "right") : auth.login("192.0.2.7", "admin", `wrong${i}`)));
    const results = await Promise.all(burst);
    assert.equal(results[2]!.result, "ok");
    assert.equal(results.filter((x) => x.result === "bad").length, 4, "the success takes one of the 5 slots, failures keep theirs");
    const later = await Promise.all(Array.from({ length: 50 }, (_, i) => auth.login("192.0.2.7", "admin", `again${i}`)));
    // 4 failures stand: one more wrong password is evaluated this minute, then 429s.
    assert.equal(later.filter((x) => x.result === "bad").length, 1);
  });

  test("failures settle after the password check; the window opens again after a minute", async () => {
    let now = 1_000_000;
    const auth = createAuth({ users: [{ name: "admin", passwordHash: cheapHash("right") }], sessionTtlMs: 60_000, attemptsPerMinute: 2, now: () => now });
    assert.equal((await auth.login("c", "admin", "x")).result, "bad");
    assert.equal((await auth.login("c", "admin", "right")).result, "ok");
    assert.equal((await auth.login("c", "admin", "y")).result, "bad");
    assert.equal((await auth.login("c", "admin", "right")).result, "limited");
    now += 60_000;
    assert.equal((await auth.login("c", "admin", "right")).result, "ok");
  });
});
