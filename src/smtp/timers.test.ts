// Session clocks: each timeout ends the session with its own reason; touch() restarts only the idle clock.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LIMIT_DEFAULTS, type Limits } from "./limits.js";
import { createSessionTimers } from "./timers.js";

const limits = (over: Partial<Limits>): Limits => ({ ...LIMIT_DEFAULTS, ...over });

function firstTimeout(l: Limits, setup: (t: ReturnType<typeof createSessionTimers>) => void): Promise<string> {
  // The session clocks are unref'd: this keeps the test process alive until one fires.
  const keepAlive = setInterval(() => {}, 1000);
  return new Promise((resolve) => {
    const t = createSessionTimers(l, (reason) => {
      clearInterval(keepAlive);
      t.stop();
      resolve(reason);
    });
    setup(t);
  });
}

test("the idle clock ends an idle session", async () => {
  assert.equal(await firstTimeout(limits({ idleTimeoutMs: 20 }), (t) => t.startIdle()), "idle-timeout");
});

test("the data clock runs from startData until stopData", async () => {
  assert.equal(await firstTimeout(limits({ dataTimeoutMs: 20 }), (t) => {
    t.startData();
    assert.equal(t.dataRunning, true);
  }), "data-timeout");
  const t = createSessionTimers(limits({}), () => assert.fail("no timeout"));
  t.startData();
  t.stopData();
  assert.equal(t.dataRunning, false);
  t.stop();
});

test("the session clock caps the whole session; touch() moves lastActive", async () => {
  assert.equal(await firstTimeout(limits({ sessionTimeoutMs: 20 }), (t) => {
    const before = t.lastActive;
    t.touch();
    assert.ok(t.lastActive >= before);
  }), "session-timeout");
});
