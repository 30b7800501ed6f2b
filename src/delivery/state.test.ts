// The delivery state: the same precedence as the policy (config, then kill switch, then dry run).
import assert from "node:assert/strict";
import { it } from "node:test";
import { deliveryState } from "./state.js";

it("config off wins, then the kill switch, then dry run (issue 17.7)", () => {
  for (const dryRun of [false, true]) {
    for (const ks of [false, true]) assert.equal(deliveryState({ enabled: false, dryRun }, ks).effective, "off (config)");
    assert.equal(deliveryState({ enabled: true, dryRun }, true).effective, "stopped (kill switch)");
  }
  assert.equal(deliveryState({ enabled: true, dryRun: true }, false).effective, "dry run");
  assert.deepEqual(deliveryState({ enabled: true, dryRun: false }, false), {
    configEnabled: true,
    killSwitchEngaged: false,
    dryRun: false,
    effective: "on",
    sending: true,
  });
  assert.equal(deliveryState({ enabled: true, dryRun: true }, false).sending, false);
});
