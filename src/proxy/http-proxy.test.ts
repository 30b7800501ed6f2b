// The HTTP proxy over a real socket: judge page, Squid's error page, CONNECT to a mail port (credentials recorded),
// a tunnel answered as its origin, keep-alive with pipelined requests, a bad CONNECT target; Proxy-Authorization.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Raw } from "../../test/helpers/raw-client.js";
import { startProxy, type TestProxy } from "../../test/helpers/proxy-trap.js";
import { proxyCredentials } from "./http-proxy.js";

let p: TestProxy;
before(async () => (p = await startProxy()));
after(() => p.close());

test("a judge URL gets the azenv page with Squid's Via; any other URL Squid's ERR_CONNECT_FAIL", async () => {
  const j = await Raw.open(p.port);
  j.write("GET http://192.0.2.1/azenv.php HTTP/1.0\r\nUser-Agent: t\r\n\r\n");
  const page = await j.waitText("</html>").then(async () => (await j.closed, j.data.toString("latin1")));
  assert.match(page, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(page, /\r\nVia: 1\.1 mail\.example\.org \(squid\/5\.7\)\r\n/);
  assert.match(page, /REMOTE_ADDR = 192\.0\.2\.1\n/);
  const o = await Raw.open(p.port);
  o.write("GET http://www.example.com/ HTTP/1.0\r\n\r\n");
  const text = await o.waitText("</html>");
  assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  assert.match(text, /X-Squid-Error: ERR_CONNECT_FAIL 111/);
  assert.ok(p.requests.some((q) => q.outcome === "judge" && q.target === "http://192.0.2.1/azenv.php"));
});

test("CONNECT to port 587 with Basic credentials: 200, handed on, credentials recorded", async () => {
  const r = await Raw.open(p.port);
  const auth = Buffer.from("u2:p2").toString("base64");
  r.write(`CONNECT mx.victim.example:587 HTTP/1.1\r\nHost: mx.victim.example:587\r\nProxy-Authorization: Basic ${auth}\r\n\r\n`);
  const got = await r.waitText("ESMTP");
  assert.match(got, /^HTTP\/1\.1 200 Connection established\r\n\r\n220 mx\.victim\.example ESMTP/);
  const s = await p.sessionOf(r.localPort);
  assert.deepEqual([s.protocol, s.username, s.password, s.divertedToSmtp], ["http", "u2", "p2", true]);
  assert.ok(p.handOffs.some((h) => h.channel === "http-connect" && h.target === "mx.victim.example:587"));
});

test("CONNECT to port 80: a tunnel in which we answer as the origin (judge without Via, else 404), kept alive", async () => {
  const r = await Raw.open(p.port);
  r.write("CONNECT judge.example:80 HTTP/1.1\r\n\r\nGET /azenv.php HTTP/1.1\r\nHost: judge.example\r\n\r\n");
  const first = await r.waitText("REMOTE_PORT");
  assert.match(first, /^HTTP\/1\.1 200 Connection established\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
  assert.doesNotMatch(first, /Via:/);
  r.write("GET /nothing HTTP/1.1\r\nHost: judge.example\r\nConnection: close\r\n\r\n");
  assert.match(await r.waitText("404 Not Found\r\n"), /HTTP\/1\.1 404 Not Found\r\n/);
  await r.closed;
  const s = await p.sessionOf(r.localPort);
  assert.equal(s.requests, 3);
  assert.equal(s.closeReason, "answered");
});

test("keep-alive: pipelined requests (one with a body) are each answered in order", async () => {
  const r = await Raw.open(p.port);
  r.write(
    "POST http://a.example/ HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhello" +
      "GET http://192.0.2.1/judge.php HTTP/1.1\r\nHost: 192.0.2.1\r\nConnection: close\r\n\r\n",
  );
  await r.closed;
  const text = r.data.toString("latin1");
  assert.ok(text.indexOf("503 Service Unavailable") < text.indexOf("200 OK"), text.slice(0, 200));
  const s = await p.sessionOf(r.localPort);
  assert.equal(s.requests, 2);
});

test("a CONNECT without a port gets Squid's 400 ERR_INVALID_URL", async () => {
  const r = await Raw.open(p.port);
  r.write("CONNECT nowhere HTTP/1.1\r\n\r\n");
  assert.match(await r.waitText("</html>"), /ERR_INVALID_URL/);
  await r.closed;
  assert.equal((await p.sessionOf(r.localPort)).closeReason, "bad-connect-target");
});

test("proxyCredentials: Basic is decoded, other schemes kept whole", () => {
  assert.deepEqual(proxyCredentials("Basic " + Buffer.from("a:b:c").toString("base64")), { method: "basic", username: "a", password: "b:c" });
  assert.deepEqual(proxyCredentials("Basic " + Buffer.from("solo").toString("base64")), { method: "basic", username: "solo", password: null });
  assert.deepEqual(proxyCredentials("NTLM TlRMTVNTUAAB"), { method: "ntlm", username: "TlRMTVNTUAAB", password: null });
  assert.deepEqual(proxyCredentials("garbage"), { method: "unknown", username: "garbage", password: null });
});
