// The DATA decoder: terminators, dot-unstuffing, exact bytes, size cap, and any chunking giving the same result.
import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { DataReader } from "./data-reader.js";

function feed(chunks: Buffer[], max = 1 << 20): { body: Buffer | null; rest: Buffer; done: boolean; size: number } {
  const r = new DataReader(max);
  for (const c of chunks) {
    const res = r.push(c);
    if (res.done) return { body: r.tooBig ? null : r.body(), rest: res.rest, done: true, size: r.size };
  }
  return { body: null, rest: Buffer.alloc(0), done: false, size: r.size };
}

it("ends on CRLF.CRLF and LF.LF, unstuffs dots, keeps line endings as sent", () => {
  const r = feed([Buffer.from("a\r\n..b\r\n.c\nd\r\n.\r\nNOOP\r\n")]);
  assert.equal(r.done, true);
  assert.equal(r.body!.toString(), "a\r\n.b\r\nc\nd\r\n");
  assert.equal(r.rest.toString(), "NOOP\r\n");
  assert.equal(feed([Buffer.from("x\n.\n")]).body!.toString(), "x\n");
  assert.equal(feed([Buffer.from(".\r\n")]).body!.toString(), "");
  assert.equal(feed([Buffer.from("x\r\n.")]).done, false);
});

it("stops keeping bytes past the size limit but still finds the end", () => {
  const r = feed([Buffer.from("0123456789\r\n".repeat(10) + ".\r\nQUIT\r\n")], 50);
  assert.equal(r.done, true);
  assert.equal(r.body, null);
  assert.equal(r.size, 120);
  assert.equal(r.rest.toString(), "QUIT\r\n");
});

it("gives the same result for any chunking of the same stream", () => {
  const line = fc.oneof(fc.constantFrom(".", "..", ".x", "", "a.b", ".\r"), fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, "")));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom("\r\n", "\n"), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 40 }), (lines, eol, cuts) => {
      const stream = Buffer.from(lines.filter((l) => l !== "." && l !== ".\r").map((l) => l + eol).join("") + "." + eol + "AFTER");
      const whole = feed([stream]);
      // Against the definition: every line as sent, less one leading dot (RFC 5321 4.5.2).
      const expected = lines.filter((l) => l !== "." && l !== ".\r").map((l) => (l.startsWith(".") ? l.slice(1) : l) + eol).join("");
      assert.equal(whole.body?.toString(), expected);
      const chunks: Buffer[] = [];
      let pos = 0;
      for (let i = 0; pos < stream.length; i++) {
        const n = cuts[i % cuts.length]!;
        chunks.push(stream.subarray(pos, pos + n));
        pos += n;
      }
      const parts = new DataReader(1 << 20);
      let rest = Buffer.alloc(0);
      let body: Buffer | null = null;
      for (let i = 0; i < chunks.length; i++) {
        const res = parts.push(chunks[i]!);
        if (res.done) {
          body = parts.body();
          rest = Buffer.concat([res.rest, ...chunks.slice(i + 1)]);
          break;
        }
      }
      assert.ok(whole.done);
      assert.deepEqual(body, whole.body);
      assert.equal(rest.toString(), "AFTER");
    }),
    { numRuns: 300 },
  );
});
