// SOCKS4/4a over a real socket: CONNECT to a mail port is granted and handed on, the userid recorded; BIND rejected.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../test/helpers/raw-client.js";
import { startProxy, type TestProxy } from "../../test/helpers/proxy-trap.js";

let p: TestProxy;
before(async () => (p = await startProxy()));
after(() => p.close());

test("SOCKS4 CONNECT to port 25: granted, handed to the SMTP trap with the target as greeting host", async () => {
  const r = await Raw.open(p.port);
  r.write(Buffer.from([4, 1, 0, 25, 127, 0, 0, 9, 0]));
  const got = await r.waitText("ESMTP");
  assert.deepEqual([...Buffer.from(got, "latin1").subarray(0, 2)], [0, 0x5a]);
  assert.match(got, /220 127\.0\.0\.9 ESMTP/);
  const s = await p.sessionOf(r.localPort);
  assert.equal(s.protocol, "socks4");
  assert.equal(s.divertedToSmtp, true);
  assert.deepEqual(s.heldRequests.map((q) => [q.method, q.target, q.outcome, q.status]), [["CONNECT", "127.0.0.9:25", "smtp-diverted", 0x5a]]);
  assert.ok(p.handOffs.some((h) => h.channel === "socks4" && h.target === "127.0.0.9:25" && h.greetingHost === "127.0.0.9"));
});

test("SOCKS4a with a userid: the name is the target, the userid a credential", async () => {
  const r = await Raw.open(p.port);
  r.write(Buffer.concat([Buffer.from([4, 1, 0x02, 0x4b, 0, 0, 0, 1]), Buffer.from("bob\0mx4a.victim.example\0")]));
  await r.waitText("ESMTP");
  const s = await p.sessionOf(r.localPort);
  assert.equal(s.username, "bob");
  assert.equal(s.target, "mx4a.victim.example:587");
  assert.ok(p.events.some((e) => e.id === "proxy.auth.attempt" && e.fields.method === "userid" && e.fields.username === "bob"));
});

test("SOCKS4 BIND is rejected (0x5b) and recorded as refused; a CONNECT elsewhere is granted as a tunnel", async () => {
  const b = await Raw.open(p.port);
  b.write(Buffer.from([4, 2, 0, 80, 1, 2, 3, 4, 0]));
  assert.deepEqual([...(await b.waitBytes(8)).subarray(0, 2)], [0, 0x5b]);
  await b.closed;
  assert.equal((await p.sessionOf(b.localPort)).closeReason, "refused-bind");
  assert.ok(p.requests.some((q) => q.method === "BIND" && q.outcome === "refused" && q.status === 0x5b));
  const t = await Raw.open(p.port);
  t.write(Buffer.from([4, 1, 0, 80, 1, 2, 3, 4, 0]));
  assert.deepEqual([...(await t.waitBytes(8)).subarray(0, 2)], [0, 0x5a]);
  t.write("GET / HTTP/1.0\r\nHost: 1.2.3.4\r\n\r\n");
  assert.match(await t.waitText("\r\n\r\n"), /HTTP\/1\.1 404 /);
  await t.closed;
});
