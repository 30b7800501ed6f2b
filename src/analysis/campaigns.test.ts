// Campaign grouping: same dropbox set, subject template or body within a window -> one campaign.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bodyHash, groupCampaigns, subjectTemplate, type CampaignInput } from "./campaigns.js";

const T0 = Date.UTC(2026, 10, 1, 8);
const MIN = 60_000;
const FIRST = ["anna", "bert", "carla", "dirk", "emma", "frank", "greta", "hans", "ines", "jan"];

/** 30 spam messages, 10 per campaign, sent round-robin from 12 sources, interleaved in time:
 *  A: one dropbox set, subjects and bodies all different;
 *  B: personalised subject ("Dear <name>, invoice 48213 is due") to different people, bodies differ;
 *  C: one body, subjects and recipients all different. */
function thirtySpam(): CampaignInput[] {
  const out: CampaignInput[] = [];
  for (let i = 0; i < 10; i++) {
    const n = FIRST[i]!;
    out.push({
      id: 0,
      receivedAt: T0 + (3 * i) * MIN,
      srcIp: "",
      rcptTo: ["drop1@mail.example", "drop2@mail.example"],
      subject: ["Cheap watches", "Your prize awaits", "Meet singles now", "Lowest prices ever", "Act today", "Fw: deal", "Great offer inside", "You won", "Last chance", "Special for you"][i]!,
      text: `unrelated text number ${i} ${"lorem ipsum ".repeat(i + 2)}`,
    });
    out.push({
      id: 0,
      receivedAt: T0 + (3 * i + 1) * MIN,
      srcIp: "",
      rcptTo: [`${n}.smith@corp${i}.example`],
      subject: `Dear ${n[0]!.toUpperCase()}${n.slice(1)}, invoice ${48213 + i * 7} is due`,
      text: `Hello ${n}, please pay invoice ${48213 + i * 7} at once. ${"x".repeat(i)}`,
    });
    out.push({
      id: 0,
      receivedAt: T0 + (3 * i + 2) * MIN,
      srcIp: "",
      rcptTo: [`user${i}@isp${i}.example`],
      subject: ["hi", "pills", "re: order", "check this", "urgent", "news", "photos", "hello there", "info", "update"][i]!,
      text: "Buy genuine medications online\n\nwithout prescription at   http://pharm.example/ today",
    });
  }
  return out.map((m, k) => ({ ...m, id: k + 1, srcIp: `203.0.113.${(k % 12) + 1}` }));
}

describe("campaigns", () => {
  it("groups 30 spam messages of 3 campaigns from 12 sources into 3", () => {
    const input = thirtySpam();
    assert.equal(new Set(input.map((m) => m.srcIp)).size, 12);
    const c = groupCampaigns(input);
    assert.equal(c.length, 3, JSON.stringify(c.map((x) => [x.messages, x.template])));
    assert.deepEqual(
      c.map((x) => x.messages),
      [10, 10, 10],
    );
    const bySubject = (s: string) => c.find((x) => x.subjects.includes(s))!;
    assert.equal(bySubject("Cheap watches").keys.rcptSet, 10);
    assert.equal(bySubject("Dear Anna, invoice 48213 is due").keys.subjectTemplate, 10);
    assert.equal(bySubject("Dear Anna, invoice 48213 is due").template, "dear {name}, invoice # is due");
    assert.equal(bySubject("pills").keys.body, 10);
    for (const x of c) {
      assert.equal(x.messageIds.length, 10);
      assert.ok(x.sources >= 3);
      assert.equal(x.id, Math.min(...x.messageIds));
    }
    // every message is in exactly one campaign
    assert.equal(new Set(c.flatMap((x) => x.messageIds)).size, 30);
  });

  it("does not join what only shares a key across more than the window", () => {
    const text = "the same long body text of a spam run, word for word";
    const a = { id: 1, receivedAt: T0, srcIp: "198.51.100.1", rcptTo: ["a@x.example"], subject: "one", text };
    const b = { id: 2, receivedAt: T0 + 1000, srcIp: "198.51.100.2", rcptTo: ["b@x.example"], subject: "two", text };
    const late = { id: 3, receivedAt: T0 + 3 * 86_400_000, srcIp: "198.51.100.3", rcptTo: ["c@x.example"], subject: "three", text };
    const c = groupCampaigns([a, b, late], { windowMs: 86_400_000 });
    assert.deepEqual(
      c.map((x) => x.messageIds),
      [[2, 1]],
    );
  });

  it("lets no short or empty subject, body or recipient set join messages", () => {
    const m = (id: number, subject: string | null): CampaignInput => ({ id, receivedAt: T0 + id, srcIp: "198.51.100.9", rcptTo: [`u${id}@x${id}.example`], subject, text: "short" });
    assert.deepEqual(groupCampaigns([m(1, "hi"), m(2, "hi"), m(3, null), m(4, null), m(5, "re: 123"), m(6, "re: 456")]), []);
  });

  it("makes subject templates and body hashes", () => {
    assert.equal(subjectTemplate("Order 4f9a2c11 for john.doe@example.com", []), "order {id} for {email}");
    assert.equal(subjectTemplate("Maria, your parcel 1234 ships 12/05", ["maria.lopez@x.example"]), "{name}, your parcel # ships #");
    assert.equal(bodyHash("a  b\n\nc d e f g h i j k l m"), bodyHash("a b c d e f g h i j k l m"));
    assert.equal(bodyHash("tiny"), null);
  });
});
