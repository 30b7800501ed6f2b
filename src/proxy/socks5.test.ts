// SOCKS5 over a real socket: user/pass recorded, CONNECT to an SMTPS port handed on with implicit TLS, BIND / UDP
// ASSOCIATE refused, a bad auth version answered and closed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../test/helpers/raw-client.js";
import { startProxy, type TestProxy } from "../../test/helpers/proxy-trap.js";

let p: TestProxy;
before(async () => (p = await startProxy()));
after(() => p.close());

function domainRequest(cmd: number, host: string, port: number): Buffer {
  return Buffer.concat([Buffer.from([5, cmd, 0, 3, host.length]), Buffer.from(host), Buffer.from([port >> 8, port & 0xff])]);
}

test("user/pass, then CONNECT to mx:465: success naming the sensor's address, handed on with implicit TLS", async () => {
  const r = await Raw.open(p.port);
  r.write(Buffer.from([5, 2, 0, 2]));
  assert.deepEqual([...(await r.waitBytes(2))], [5, 2]);
  r.write(Buffer.concat([Buffer.from([1, 4]), Buffer.from("spam"), Buffer.from([2]), Buffer.from("er")]));
  assert.deepEqual([...(await r.waitBytes(4)).subarray(2, 4)], [1, 0]);
  r.write(domainRequest(1, "mxtls.victim.example", 465));
  const reply = (await r.waitBytes(14)).subarray(4, 14);
  assert.deepEqual([...reply.subarray(0, 8)], [5, 0, 0, 1, 127, 0, 0, 1]);
  const s = await p.sessionOf(r.localPort);
  assert.deepEqual([s.protocol, s.username, s.password, s.target, s.divertedToSmtp], ["socks5", "spam", "er", "mxtls.victim.example:465", true]);
  const h = p.handOffs.find((x) => x.target === "mxtls.victim.example:465");
  assert.deepEqual([h?.channel, h?.implicitTls, h?.greetingHost], ["socks5", true, "mxtls.victim.example"]);
  assert.ok(p.events.some((e) => e.id === "proxy.smtp.diverted" && e.fields.implicit_tls === true));
});

test("UDP ASSOCIATE and BIND are refused with 07", async () => {
  for (const cmd of [3, 2]) {
    const r = await Raw.open(p.port);
    r.write(Buffer.from([5, 1, 0]));
    await r.waitBytes(2);
    r.write(Buffer.from([5, cmd, 0, 1, 0, 0, 0, 0, 0, 0]));
    assert.deepEqual([...(await r.waitBytes(12)).subarray(0, 4)], [5, 0, 5, 7]);
    await r.closed;
    assert.equal((await p.sessionOf(r.localPort)).closeReason, cmd === 3 ? "refused-udp-associate" : "refused-bind");
  }
  assert.ok(p.requests.some((q) => q.method === "UDP" && q.outcome === "refused"));
});

test("a wrong auth version gets 01 01 and the connection is closed", async () => {
  const r = await Raw.open(p.port);
  r.write(Buffer.from([5, 1, 2]));
  await r.waitBytes(2);
  r.write(Buffer.from([9, 1, 0x41, 1, 0x42]));
  assert.deepEqual([...(await r.waitBytes(4)).subarray(2, 4)], [1, 1]);
  await r.closed;
  assert.equal((await p.sessionOf(r.localPort)).closeReason, "bad-handshake: bad-auth-version");
});
