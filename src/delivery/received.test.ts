// The Received header of a delivered test, per persona.
import assert from "node:assert/strict";
import { it } from "node:test";
import { receivedHeader, type TraceInfo } from "./received.js";

const T = Date.UTC(2013, 11, 1, 12, 17, 21);
const base: TraceInfo = {
  persona: "postfix",
  hostname: "mail.example.org",
  helo: "spammer.example",
  clientIp: "203.0.113.7",
  rdns: null,
  esmtp: true,
  tls: false,
  queueId: "4ABCD12345",
  mailFrom: "a@b.example",
  rcptTo: ["x@yahoo.com"],
  receivedAt: T,
};

it("postfix style, with the for clause for a single recipient", () => {
  assert.equal(
    receivedHeader(base),
    "Received: from spammer.example (unknown [203.0.113.7])\r\n\tby mail.example.org (Postfix) with ESMTP id 4ABCD12345\r\n\tfor <x@yahoo.com>; Sun,  1 Dec 2013 12:17:21 +0000 (UTC)\r\n",
  );
  assert.equal(
    receivedHeader({ ...base, rcptTo: ["a@x.example", "b@y.example"], rdns: "host.example", tls: true, clientIp: "2001:db8::7" }),
    "Received: from spammer.example (host.example [IPv6:2001:db8::7])\r\n\tby mail.example.org (Postfix) with ESMTPS id 4ABCD12345; Sun,  1 Dec 2013 12:17:21 +0000 (UTC)\r\n",
  );
  assert.match(receivedHeader({ ...base, esmtp: false }), / with SMTP id /);
});

it("sendmail and exim styles", () => {
  assert.equal(
    receivedHeader({ ...base, persona: "sendmail", queueId: "rB1CHL0r012345" }),
    "Received: from spammer.example ([203.0.113.7])\r\n\tby mail.example.org (8.17.1.9/8.17.1.9/Debian-2) with ESMTP id rB1CHL0r012345\r\n\tfor <x@yahoo.com>; Sun, 1 Dec 2013 12:17:21 GMT\r\n",
  );
  assert.equal(
    receivedHeader({ ...base, persona: "exim", queueId: "1vQ4xR-000Abc-Q2" }),
    "Received: from [203.0.113.7] (helo=spammer.example)\r\n\tby mail.example.org with esmtp (Exim 4.96)\r\n\t(envelope-from <a@b.example>)\r\n\tid 1vQ4xR-000Abc-Q2\r\n\tfor x@yahoo.com; Sun, 01 Dec 2013 12:17:21 +0000\r\n",
  );
});

it("client-supplied text cannot inject header lines", () => {
  const h = receivedHeader({ ...base, helo: "evil\r\nBcc: victim@example.com", rcptTo: ["x@yahoo.com\r\nX: y"] });
  assert.equal(h.split("\r\n").length, 4);
  assert.ok(!/\r\n[^\t]/.test(h.slice(0, -2)));
});
