// The public view's redaction over hostile address forms: every RFC 5321/5322 shape, IDN, quoted local parts, address
// literals, display names, group syntax, encoded words (issue 14).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { redactAddressField, redactDeep, redactText } from "./redact.js";

/** [address field, what must not survive, the domain that stays]. */
export const HOSTILE_ADDRESSES: Array<[string, RegExp, string]> = [
  ["idnlocal@ämple.example", /idnlocal/i, "ämple.example"],
  ['"quotedlocal dropbox"@gmail.example', /quotedlocal|dropbox"/i, "gmail.example"],
  ["o'brienlocal@apos.example", /brienlocal/i, "apos.example"],
  ["Display Secretname <displaylocal@x.example>", /displaylocal|secretname/i, "x.example"],
  ["undisclosed-group: grouplocal@g.example, \"grp quotedlocal2\"@g.example;", /grouplocal|quotedlocal2|undisclosed-group/i, "g.example"],
  ["literallocal@[192.0.2.55]", /literallocal/i, "[192.0.2.55]"],
  ["=?utf-8?B?RW5jb2RlZCBTZWNyZXRuYW1l?= <encodedlocal@enc.example>", /encodedlocal|encoded secretname/i, "enc.example"],
  ["commentlocal(a comment)@c.example", /commentlocal/i, "c.example"],
  ['"at@insidelocal"@q.example', /insidelocal/i, "q.example"],
  ["punylocal@xn--mple-goa.example", /punylocal/i, "xn--mple-goa.example"],
];

describe("public redaction", () => {
  for (const [field, secret, domain] of HOSTILE_ADDRESSES) {
    test(`address field ${field}`, () => {
      const out = redactAddressField(field);
      assert.doesNotMatch(out, secret);
      assert.ok(out.includes(`***@${domain}`), out);
    });
    test(`in free text: ${field}`, () => {
      const out = redactText(`Subject line mentions ${field} and more`);
      assert.doesNotMatch(out, /idnlocal|quotedlocal|brienlocal|displaylocal|grouplocal|literallocal|encodedlocal|commentlocal|insidelocal|punylocal/i, out);
      assert.match(out, /^Subject line mentions /);
    });
  }

  test("a message's own hidden parts are scrubbed from its other fields", () => {
    const m = redactDeep({
      id: 7,
      sha256: "abc1234",
      mailFrom: "tester@t.example",
      rcptTo: ['"quotedlocal dropbox"@gmail.example'],
      subject: "relay test for quotedlocal dropbox at gmail",
      headers: [
        { key: "to", value: "Display Secretname <displaylocal@x.example>" },
        { key: "x-note", value: "for Display Secretname, see =?utf-8?Q?displaylocal=40x.example?=" },
      ],
    });
    assert.doesNotMatch(JSON.stringify(m), /quotedlocal|displaylocal|secretname|tester@/i);
    assert.equal(m.sha256, "abc1234");
    assert.equal(m.headers[0]!.value, "***@x.example");
    assert.equal(m.rcptTo[0], "***@gmail.example");
  });

  test("text without addresses is left alone", () => {
    assert.equal(redactText("Open relay test 192.0.2.1 @home"), "Open relay test 192.0.2.1 @home");
  });
});
