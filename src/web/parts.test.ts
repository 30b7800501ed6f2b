// On-demand parts for the web UI: the HTML body and attachments, without work the page does not need.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eml } from "../analysis/fixtures.js";
import { MAX_PARSED_TEXT_CHARS } from "../analysis/parse.js";
import { attachmentContent, htmlPart } from "./parts.js";
import { stallMeter } from "../../test/helpers/stall.js";

test("the HTML part of a crafted 9 MB HTML-only message comes without HTML-to-text (no seconds-long stall)", async () => {
  const body = "<div><p><b>a</b></p></div>\n".repeat(330_000);
  const raw = eml(["From: x@y.example", "Subject: big", "Content-Type: text/html"], body);
  const meter = stallMeter();
  const html = await htmlPart(raw);
  const held = await meter.stop();
  // cut where parseMessage cuts it: the sanitizer and the page never get more
  assert.equal(html, body.slice(0, MAX_PARSED_TEXT_CHARS));
  // mailparser's html-to-text alone held the thread ~3 s here; the sensor's sessions share it.
  assert.ok(held < 1500, `thread held for ${held.toFixed(0)} ms`);
});

test("HTML and attachments of an ordinary multipart message", async () => {
  const raw = eml(
    ["From: x@y.example", "Subject: parts", "Content-Type: multipart/mixed; boundary=b"],
    "--b\nContent-Type: text/html\n\n<p>hello</p>\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=a.bin\nContent-Transfer-Encoding: base64\n\nAAEC\n--b--\n",
  );
  assert.equal(await htmlPart(raw), "<p>hello</p>");
  const a = await attachmentContent(raw, 0);
  assert.equal(a?.filename, "a.bin");
  assert.deepEqual(a?.content, Buffer.from([0, 1, 2]));
  assert.equal(await attachmentContent(raw, 1), null);
  assert.equal(await htmlPart(eml(["Subject: plain"], "just text")), null);
});
