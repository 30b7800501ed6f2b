// parseMessage: the ParsedMessage fields storage and analysis rely on (hashes, decoded headers, attachments).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { decodeWords, parseMessage, sha256Hex } from "./parse.js";
import { eml } from "./fixtures.js";

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

test("sha256 of the raw bytes", async () => {
  const raw = eml(["From: a@b.example", "To: c@d.example", "Subject: hi"], "hello\n");
  const p = await parseMessage(raw);
  assert.equal(p.sha256, sha(raw));
  assert.equal(sha256Hex(Buffer.alloc(0)), sha(Buffer.alloc(0)));
  assert.equal(p.size, raw.length);
});

test("attachment size and sha256 are of the decoded content", async () => {
  const content = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 255));
  const b64 = content.toString("base64").replace(/(.{76})/g, "$1\n");
  const raw = eml(
    ["From: a@b.example", "To: c@d.example", "Subject: files", "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="b1"'],
    [
      "--b1", "Content-Type: text/plain", "", "see attached", "",
      "--b1", 'Content-Type: application/octet-stream; name="x.bin"', "Content-Transfer-Encoding: base64", 'Content-Disposition: attachment; filename="x.bin"', "", b64, "",
      "--b1", "Content-Type: text/rfc822-headers", "", "Subject: quoted", "",
      "--b1--", "",
    ].join("\n"),
  );
  const p = await parseMessage(raw);
  const quoted = Buffer.from("Subject: quoted\r\n");
  assert.equal(p.text?.trim(), "see attached");
  assert.deepEqual(p.attachments, [
    { filename: "x.bin", contentType: "application/octet-stream", size: content.length, sha256: sha(content) },
    // the line break before a boundary belongs to the boundary: one CRLF of the two is content
    { filename: null, contentType: "text/rfc822-headers", size: quoted.length, sha256: sha(quoted) },
  ]);
});

test("header values: folded lines joined, encoded words decoded, other text as written", async () => {
  const raw = eml(
    ["From: a@b.example", "Subject: =?utf-8?B?w4RwZmVs?= und =?iso-8859-1?Q?Birnen?=", "X-Plain: 100% = ok ?=", "X-Folded: one", "\ttwo"],
    "x\n",
  );
  const p = await parseMessage(raw);
  const h = (k: string) => p.headers.find((x) => x.key === k)?.value;
  assert.equal(h("subject"), "Äpfel und Birnen");
  assert.equal(h("x-plain"), "100% = ok ?=");
  assert.equal(h("x-folded"), "one two");
  assert.equal(decodeWords("no encoded words"), "no encoded words");
  assert.equal(decodeWords("=?utf-8?Q?caf=C3=A9?="), "café");
});

test("keeps an unreadable Date header raw and leaves the date empty, never the time of parsing", async () => {
  const at = async (date: string | null) =>
    parseMessage(Buffer.from(`${date === null ? "" : `Date: ${date}\r\n`}Subject: t\r\n\r\nbody\r\n`));
  const dez = await at("Sun, 1 Dez 2013 12:17:21 +0000");
  assert.equal(dez.dateHeader, "Sun, 1 Dez 2013 12:17:21 +0000");
  assert.equal(dez.date, null);
  assert.equal((await at("garbage")).date, null);
  assert.equal((await at(null)).date, null);
  assert.equal((await at("Sun, 1 Dec 2013 12:17:21 +0000")).date, "2013-12-01T12:17:21.000Z");
});
