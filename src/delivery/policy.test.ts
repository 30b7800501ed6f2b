// Delivery policy: caps, dry run, dropbox copies, which messages and which recipients. No sockets.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Verdict } from "../analysis/types.js";
import { canonicalMailbox, decide, isDeliverableAddress, verdictGate, type DeliveryPolicyConfig, type PolicyInput, type PolicyMessage } from "./policy.js";

const CONFIG: DeliveryPolicyConfig = {
  enabled: true,
  dryRun: false,
  dropboxCopies: false,
  maxPerDay: 20,
  maxPerDropboxPerDay: 2,
  maxPerSourcePerDay: 5,
  maxMessageBytes: 32 * 1024,
  allowHtml: false,
  allowAttachments: false,
};

function verdict(over: Partial<Verdict> = {}): Verdict {
  return { kind: "relay-test", confidence: "certain", testedIps: ["198.51.100.23"], matchesSensor: true, dropboxes: ["x@yahoo.com"], score: 90, evidence: [], ...over };
}

function msg(over: Partial<PolicyMessage> = {}): PolicyMessage {
  return { id: 1, kind: "relay-test", verdict: verdict(), rcptTo: ["x@yahoo.com"], srcIp: "203.0.113.9", bodyStored: true, size: 900, hasHtml: false, attachments: 0, ...over };
}

function input(over: Partial<PolicyInput> = {}): PolicyInput {
  return {
    message: msg(),
    config: CONFIG,
    switchOn: true,
    knownDropboxes: new Set(),
    counters: { total: 0, perSource: 0, perRecipient: new Map() },
    ...over,
  };
}

describe("delivery policy", () => {
  it("delivers a relay test that matches the sensor to its dropbox", () => {
    const d = decide(input());
    assert.equal(d.mode, "relay-test");
    assert.deepEqual(d.deliver, ["x@yahoo.com"]);
    assert.deepEqual(d.skipped, []);
    assert.equal(d.dryRun, false);
  });

  it("delivers only to the verdict's dropboxes (unwrapped, lower-case, once each)", () => {
    const d = decide(input({ message: msg({ rcptTo: ["Drop%Box.example@[198.51.100.23]"], verdict: verdict({ dropboxes: ["drop@box.example", "DROP@box.example"] }) }) }));
    assert.deepEqual(d.deliver, ["drop@box.example"]);
  });

  it("never delivers a relay test for another IP", () => {
    const d = decide(input({ message: msg({ verdict: verdict({ matchesSensor: false }) }) }));
    assert.deepEqual(d.deliver, []);
    assert.deepEqual(d.skipped, [{ recipient: null, reason: "not-matching-sensor" }]);
  });

  it("never delivers a relay test that is only likely or possible, nor one stored without a confidence (issue 15)", () => {
    for (const confidence of ["likely", "possible", null, undefined] as const) {
      const d = decide(input({ message: msg({ verdict: verdict({ confidence }) }) }));
      assert.deepEqual(d.deliver, [], String(confidence));
      assert.deepEqual(d.skipped, [{ recipient: null, reason: "not-certain" }], String(confidence));
    }
  });

  it("ignores spam and other mail (nothing to audit)", () => {
    for (const kind of ["spam", "other", "unknown"] as const) {
      const d = decide(input({ message: msg({ kind, verdict: verdict({ kind: kind === "unknown" ? "other" : kind }) }) }));
      assert.equal(d.mode, null, kind);
      assert.deepEqual(d.deliver, []);
      assert.deepEqual(d.skipped, []);
    }
  });

  it("a stored kind that is not relay-test wins over a relay-test verdict", () => {
    assert.equal(decide(input({ message: msg({ kind: "spam" }) })).mode, null);
  });

  it("skips when disabled, switched off, or without a stored body", () => {
    assert.deepEqual(decide(input({ config: { ...CONFIG, enabled: false } })).skipped, [{ recipient: null, reason: "disabled" }]);
    assert.deepEqual(decide(input({ switchOn: false })).skipped, [{ recipient: null, reason: "kill-switch" }]);
    assert.deepEqual(decide(input({ message: msg({ bodyStored: false }) })).skipped, [{ recipient: null, reason: "no-body" }]);
  });

  it("skips a relay test without dropboxes and invalid recipients", () => {
    assert.deepEqual(decide(input({ message: msg({ verdict: verdict({ dropboxes: [] }) }) })).skipped, [{ recipient: null, reason: "no-dropbox" }]);
    const d = decide(input({ message: msg({ verdict: verdict({ dropboxes: ["no-at-sign", "a@b.example\r\nRCPT TO:<c@d>", "ok@good.example"] }) }) }));
    assert.deepEqual(d.deliver, ["ok@good.example"]);
    assert.deepEqual(d.skipped.map((s) => s.reason), ["invalid-recipient", "invalid-recipient"]);
  });

  it("enforces maxPerDay across all deliveries", () => {
    const d = decide(input({ counters: { total: 20, perSource: 0, perRecipient: new Map() } }));
    assert.deepEqual(d.deliver, []);
    assert.deepEqual(d.skipped, [{ recipient: "x@yahoo.com", reason: "cap-day" }]);
  });

  it("enforces maxPerDropboxPerDay per recipient", () => {
    const d = decide(
      input({
        message: msg({ verdict: verdict({ dropboxes: ["x@yahoo.com", "y@yahoo.com"] }) }),
        counters: { total: 3, perSource: 0, perRecipient: new Map([["x@yahoo.com", 2]]) },
      }),
    );
    assert.deepEqual(d.deliver, ["y@yahoo.com"]);
    assert.deepEqual(d.skipped, [{ recipient: "x@yahoo.com", reason: "cap-dropbox" }]);
  });

  it("enforces maxPerSourcePerDay, counting this message's own deliveries", () => {
    const boxes = Array.from({ length: 8 }, (_, i) => `box${i}@dropbox.example`);
    const d = decide(input({ message: msg({ verdict: verdict({ dropboxes: boxes }) }), counters: { total: 0, perSource: 2, perRecipient: new Map() } }));
    assert.deepEqual(d.deliver, boxes.slice(0, 3));
    assert.deepEqual(new Set(d.skipped.map((s) => s.reason)), new Set(["cap-source"]));
    assert.equal(d.skipped.length, 5);
  });

  it("the day cap also counts this message's own deliveries (a 21-recipient test)", () => {
    const boxes = Array.from({ length: 21 }, (_, i) => `box${i}@dropbox.example`);
    const d = decide(input({ message: msg({ verdict: verdict({ dropboxes: boxes }) }), config: { ...CONFIG, maxPerSourcePerDay: 100 } }));
    assert.equal(d.deliver.length, 20);
    assert.deepEqual(d.skipped, [{ recipient: "box20@dropbox.example", reason: "cap-day" }]);
  });

  it("zero caps deliver nothing", () => {
    assert.deepEqual(decide(input({ config: { ...CONFIG, maxPerDay: 0 } })).deliver, []);
    assert.deepEqual(decide(input({ config: { ...CONFIG, maxPerSourcePerDay: 0 } })).deliver, []);
    assert.deepEqual(decide(input({ config: { ...CONFIG, maxPerDropboxPerDay: 0 } })).deliver, []);
  });

  it("dry run decides the same recipients and marks the decision", () => {
    const d = decide(input({ config: { ...CONFIG, dryRun: true } }));
    assert.equal(d.dryRun, true);
    assert.deepEqual(d.deliver, ["x@yahoo.com"]);
    const capped = decide(input({ config: { ...CONFIG, dryRun: true }, counters: { total: 20, perSource: 0, perRecipient: new Map() } }));
    assert.deepEqual(capped.deliver, []);
  });

  describe("dropbox copies", () => {
    const spam = msg({ kind: "spam", verdict: verdict({ kind: "spam", matchesSensor: false, dropboxes: [] }), rcptTo: ["victim1@isp.example", "Box@Dropbox.example", "victim2@isp.example"] });

    it("off by default: spam to a known dropbox is not delivered", () => {
      const d = decide(input({ message: spam, knownDropboxes: new Set(["box@dropbox.example"]) }));
      assert.equal(d.mode, null);
      assert.deepEqual(d.deliver, []);
    });

    it("on: one copy to the known dropbox only, never to the other recipients", () => {
      const d = decide(input({ message: spam, config: { ...CONFIG, dropboxCopies: true }, knownDropboxes: new Set(["box@dropbox.example"]) }));
      assert.equal(d.mode, "dropbox-copy");
      assert.deepEqual(d.deliver, ["box@dropbox.example"]);
    });

    it("on: spam without a known dropbox is not a candidate", () => {
      const d = decide(input({ message: spam, config: { ...CONFIG, dropboxCopies: true } }));
      assert.equal(d.mode, null);
    });

    it("on: the same caps apply", () => {
      const d = decide(
        input({
          message: spam,
          config: { ...CONFIG, dropboxCopies: true },
          knownDropboxes: new Set(["box@dropbox.example"]),
          counters: { total: 0, perSource: 0, perRecipient: new Map([["box@dropbox.example", 2]]) },
        }),
      );
      assert.deepEqual(d.skipped, [{ recipient: "box@dropbox.example", reason: "cap-dropbox" }]);
    });
  });

  describe("caps count canonical mailboxes (issue 14, item 7)", () => {
    it("one mailbox however it is spelt: case, quoted local part, trailing dot, IDN", () => {
      for (const a of ["same@drop.example", "SAME@drop.example", '"same"@drop.example', '"SAME"@Drop.Example', "same@DROP.EXAMPLE.", "same@drop.example."])
        assert.equal(canonicalMailbox(a), "same@drop.example", a);
      assert.equal(canonicalMailbox("box@bücher.example"), "box@xn--bcher-kva.example");
      assert.equal(canonicalMailbox("Box@XN--BCHER-KVA.example"), "box@xn--bcher-kva.example");
      assert.equal(canonicalMailbox("u@[IPv6:0:0:0:0:0:ffff:c000:201]"), "u@[192.0.2.1]");
      assert.equal(canonicalMailbox("u@[IPv6:2001:DB8:0:0:0:0:0:1]"), "u@[IPv6:2001:db8::1]");
      assert.equal(canonicalMailbox('"a b"@drop.example'), '"a b"@drop.example');
      assert.equal(canonicalMailbox('"a\\"b"@drop.example'), '"a\\"b"@drop.example');
      for (const a of ["", "no-at", "@drop.example", "x@", 'x"@drop.example', "u@[0x7f.1]", "u@[IPv6:1.2.3.4]", "u@b\u00fccher..example"]) assert.equal(canonicalMailbox(a), null, a);
    });

    it("same@, SAME@ and \"same\"@ share one cap across messages", () => {
      const counters = { total: 2, perSource: 0, perRecipient: new Map([["same@drop.example", 1], ['"same"@drop.example', 1]]) };
      for (const box of ["same@drop.example", "SAME@drop.example", '"same"@drop.example', "same@DROP.example."]) {
        const d = decide(input({ message: msg({ verdict: verdict({ dropboxes: [box] }) }), counters }));
        assert.deepEqual(d.deliver, [], box);
        assert.deepEqual(d.skipped.map((s) => s.reason), ["cap-dropbox"], box);
      }
    });

    it("within one message the spellings are one recipient, delivered in canonical form", () => {
      const d = decide(input({ message: msg({ verdict: verdict({ dropboxes: ["same@drop.example", "SAME@drop.example", '"same"@drop.example', "same@drop.example."] }) }) }));
      assert.deepEqual(d.deliver, ["same@drop.example"]);
      const idn = decide(input({ message: msg({ verdict: verdict({ dropboxes: ["box@bücher.example", "box@xn--bcher-kva.example"] }) }) }));
      assert.deepEqual(idn.deliver, ["box@xn--bcher-kva.example"]);
    });
  });

  describe("content gate (issue 14, item 7)", () => {
    it("skips a message over delivery.maxMessageBytes", () => {
      const d = decide(input({ message: msg({ size: 2 * 1024 * 1024 }) }));
      assert.deepEqual(d.deliver, []);
      assert.deepEqual(d.skipped, [{ recipient: null, reason: "too-big" }]);
      assert.deepEqual(decide(input({ message: msg({ size: 32 * 1024 }) })).deliver, ["x@yahoo.com"], "the limit itself is allowed");
    });

    it("skips HTML and attachments unless allowed; unknown content counts as present", () => {
      assert.deepEqual(decide(input({ message: msg({ hasHtml: true }) })).skipped, [{ recipient: null, reason: "html" }]);
      assert.deepEqual(decide(input({ message: msg({ hasHtml: null }) })).skipped, [{ recipient: null, reason: "html" }]);
      assert.deepEqual(decide(input({ message: msg({ attachments: 1 }) })).skipped, [{ recipient: null, reason: "attachments" }]);
      assert.deepEqual(decide(input({ message: msg({ attachments: null }) })).skipped, [{ recipient: null, reason: "attachments" }]);
      const open = { ...CONFIG, allowHtml: true, allowAttachments: true };
      assert.deepEqual(decide(input({ config: open, message: msg({ hasHtml: true, attachments: 2 }) })).deliver, ["x@yahoo.com"]);
    });

    it("applies to dropbox copies too", () => {
      const spam = msg({ kind: "spam", verdict: verdict({ kind: "spam", matchesSensor: false, dropboxes: [] }), rcptTo: ["box@dropbox.example"], hasHtml: true });
      const d = decide(input({ message: spam, config: { ...CONFIG, dropboxCopies: true }, knownDropboxes: new Set(["box@dropbox.example"]) }));
      assert.deepEqual(d.skipped, [{ recipient: null, reason: "html" }]);
    });
  });

  it("the verdict gate is one predicate", () => {
    assert.equal(verdictGate(verdict()), null);
    assert.equal(verdictGate(verdict({ matchesSensor: false })), "not-matching-sensor");
  });

  it("recognises deliverable addresses", () => {
    for (const a of ["x@yahoo.com", "a.b+c@mail.example.net", "u@[192.0.2.1]", "u@[IPv6:2001:db8::1]"]) assert.ok(isDeliverableAddress(a), a);
    for (const a of ["", "x", "@example.com", "x@", "x@-bad.example", "x@localhost", "a b@example.com", "x@example.com>", "x@[not-ip]", `${"a".repeat(250)}@example.com`])
      assert.ok(!isDeliverableAddress(a), a);
  });
});
