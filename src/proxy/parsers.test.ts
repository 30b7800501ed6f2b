// Pure parser tests: sniffing, SOCKS4/4a/5 machines, the HTTP head reader, targets and judge detection. Property tests
// (fast-check): arbitrary bytes never throw; any chunking of a valid handshake gives the unchunked result.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createHeadReader, parseRequestTarget, type HeadResult } from "./http.js";
import { isJudgeRequest, judgeVariables } from "./judge.js";
import { PROXY_LIMIT_DEFAULTS } from "./limits.js";
import { sniffProtocol } from "./sniff.js";
import { createSocks4Machine, createSocks5Machine, type SocksAction, type SocksMachine } from "./socks.js";

const LIMITS = { maxRequestLineBytes: 1024, maxHeaderBytes: 4096, maxHeaders: 20 };
const RUNS = 300;

/** Splits bytes at the given cut points (any order, duplicates fine). */
function chunk(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(b.subarray(at, p));
    at = p;
  }
  out.push(b.subarray(at));
  return out;
}

function runSocks(make: () => SocksMachine, chunks: Uint8Array[]): { actions: SocksAction[]; rest: string } {
  const m = make();
  const actions: SocksAction[] = [];
  for (const c of chunks) actions.push(...m.push(c));
  return { actions, rest: m.done ? m.rest().toString("hex") : "" };
}

function runHead(chunks: Uint8Array[]): { result: HeadResult; rest: string } {
  const r = createHeadReader(LIMITS);
  let result: HeadResult = { status: "more" };
  // Bytes after a complete head keep accumulating as the rest (body, pipelined requests).
  for (const c of chunks) result = r.push(c);
  return { result, rest: r.rest().toString("hex") };
}

// ---- generators of valid handshakes ----------------------------------------------------------------------------

const hostName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,40}$/);
const port = fc.integer({ min: 1, max: 65535 });
const latin = fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a.map((x) => (x === 0 ? 1 : x))));

const socks4Valid = fc
  .record({ cmd: fc.constantFrom(1, 2), port, ip: fc.uint8Array({ minLength: 4, maxLength: 4 }), user: latin, host: fc.option(hostName) })
  .map(({ cmd, port, ip, user, host }) => {
    const dst = host !== null ? [0, 0, 0, 7] : [...ip];
    return Buffer.concat([
      Buffer.from([4, cmd, port >> 8, port & 0xff, ...dst]),
      user,
      Buffer.from([0]),
      host !== null ? Buffer.from(host + "\0", "latin1") : Buffer.alloc(0),
    ]);
  });

const socks5Valid = fc
  .record({
    methods: fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 }),
    user: latin,
    pass: latin,
    cmd: fc.constantFrom(1, 2, 3),
    atyp: fc.constantFrom(1, 3, 4),
    addr: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    host: hostName,
    port,
    trailer: fc.uint8Array({ maxLength: 20 }),
  })
  .filter((r) => r.methods.includes(0) || r.methods.includes(2))
  .map((r) => {
    const parts: Buffer[] = [Buffer.from([5, r.methods.length, ...r.methods])];
    if (r.methods.includes(2)) parts.push(Buffer.from([1, r.user.length]), r.user, Buffer.from([r.pass.length]), r.pass);
    const addr =
      r.atyp === 1 ? Buffer.from(r.addr.subarray(0, 4)) : r.atyp === 4 ? Buffer.from(r.addr) : Buffer.concat([Buffer.from([r.host.length]), Buffer.from(r.host)]);
    parts.push(Buffer.from([5, r.cmd, 0, r.atyp]), addr, Buffer.from([r.port >> 8, r.port & 0xff]), Buffer.from(r.trailer));
    return Buffer.concat(parts);
  });

const httpValid = fc
  .record({
    method: fc.constantFrom("GET", "POST", "HEAD", "CONNECT", "OPTIONS"),
    host: hostName,
    port,
    path: fc.stringMatching(/^\/[a-zA-Z0-9._~/?=&-]{0,60}$/),
    headers: fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/), fc.stringMatching(/^[ -~]{0,60}$/)), { maxLength: 10 }),
    crlf: fc.boolean(),
    body: fc.uint8Array({ maxLength: 30 }),
  })
  .map((r) => {
    const eol = r.crlf ? "\r\n" : "\n";
    const target = r.method === "CONNECT" ? `${r.host}:${r.port}` : `http://${r.host}:${r.port}${r.path}`;
    const head = [`${r.method} ${target} HTTP/1.1`, ...r.headers.map(([k, v]) => `${k}: ${v}`)].join(eol) + eol + eol;
    return Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(r.body)]);
  });

const cuts = fc.array(fc.nat(), { maxLength: 12 });

// ---- properties ------------------------------------------------------------------------------------------------

test("sniff: never throws, decided by the first byte only", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const p = sniffProtocol(b);
      if (b.length === 0) return p === null;
      return p === sniffProtocol(b.subarray(0, 1));
    }),
    { numRuns: RUNS },
  );
  assert.equal(sniffProtocol(Buffer.from([4])), "socks4");
  assert.equal(sniffProtocol(Buffer.from([5])), "socks5");
  assert.equal(sniffProtocol(Buffer.from("GET")), "http");
});

test("arbitrary byte streams, arbitrarily chunked, never throw any parser", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), cuts, fc.constantFrom(4, 5, 0x47), (b, c, lead) => {
      const bytes = Buffer.concat([Buffer.from([lead]), b]);
      const chunks = chunk(bytes, c);
      runSocks(createSocks4Machine, chunks);
      runSocks(createSocks5Machine, chunks);
      runHead(chunks);
      parseRequestTarget("CONNECT", bytes.toString("latin1"));
      parseRequestTarget("GET", bytes.toString("latin1"));
    }),
    { numRuns: RUNS * 2 },
  );
});

test("arbitrary bytes: chunking never changes the outcome (socks4, socks5, http)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), cuts, fc.constantFrom(4, 5, 0x47), (b, c, lead) => {
      const bytes = Buffer.concat([Buffer.from([lead]), b]);
      assert.deepEqual(runSocks(createSocks4Machine, chunk(bytes, c)), runSocks(createSocks4Machine, [bytes]));
      assert.deepEqual(runSocks(createSocks5Machine, chunk(bytes, c)), runSocks(createSocks5Machine, [bytes]));
      assert.deepEqual(runHead(chunk(bytes, c)), runHead([bytes]));
    }),
    { numRuns: RUNS },
  );
});

test("valid SOCKS4/4a requests: any chunking gives the unchunked result, which is a connect or a refusal", () => {
  fc.assert(
    fc.property(socks4Valid, cuts, (req, c) => {
      const whole = runSocks(createSocks4Machine, [req]);
      const last = whole.actions[whole.actions.length - 1];
      assert.ok(last && (last.type === "connect" || last.type === "refused"), JSON.stringify(whole.actions));
      assert.deepEqual(runSocks(createSocks4Machine, chunk(req, c)), whole);
    }),
    { numRuns: RUNS },
  );
});

test("valid SOCKS5 handshakes: any chunking gives the unchunked result; trailing bytes are kept for the tunnel", () => {
  fc.assert(
    fc.property(socks5Valid, cuts, (req, c) => {
      const whole = runSocks(createSocks5Machine, [req]);
      const last = whole.actions[whole.actions.length - 1];
      assert.ok(last && (last.type === "connect" || last.type === "refused"), JSON.stringify(whole.actions));
      assert.deepEqual(runSocks(createSocks5Machine, chunk(req, c)), whole);
    }),
    { numRuns: RUNS },
  );
});

test("valid HTTP proxy requests: any chunking gives the unchunked head and rest", () => {
  fc.assert(
    fc.property(httpValid, cuts, (req, c) => {
      const whole = runHead([req]);
      assert.equal(whole.result.status, "ok", JSON.stringify(whole.result));
      assert.deepEqual(runHead(chunk(req, c)), whole);
    }),
    { numRuns: RUNS },
  );
});

// ---- examples --------------------------------------------------------------------------------------------------

test("SOCKS4a: userid, host name, port; BIND refused with 0x5B", () => {
  const req = Buffer.concat([Buffer.from([4, 1, 0, 25, 0, 0, 0, 1]), Buffer.from("bob\0mx.example.com\0")]);
  const { actions } = runSocks(createSocks4Machine, [req]);
  assert.deepEqual(actions[0], { type: "auth", username: "bob", password: null, reply: null });
  assert.deepEqual(actions[1], { type: "connect", target: { host: "mx.example.com", hostType: "domain", port: 25 }, userid: "bob" });
  const bind = runSocks(createSocks4Machine, [Buffer.from([4, 2, 0, 80, 1, 2, 3, 4, 0])]).actions[0];
  assert.equal(bind?.type, "refused");
  assert.deepEqual(bind?.type === "refused" && [...bind.reply], [0, 0x5b, 0, 0, 0, 0, 0, 0]);
});

test("SOCKS5: user/pass preferred and accepted, IPv6 target, UDP ASSOCIATE refused with 0x07, bad ATYP 0x08", () => {
  const auth = Buffer.concat([Buffer.from([5, 2, 0, 2]), Buffer.from([1, 1]), Buffer.from("u"), Buffer.from([2]), Buffer.from("pw")]);
  const v6 = Buffer.from([5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 25]);
  const { actions } = runSocks(createSocks5Machine, [auth, v6]);
  assert.deepEqual(actions.map((a) => a.type), ["method", "auth", "connect"]);
  assert.deepEqual(actions[0]?.type === "method" && [...actions[0].reply], [5, 2]);
  assert.deepEqual(actions[1]?.type === "auth" && [actions[1].username, actions[1].password, [...actions[1].reply!]], ["u", "pw", [1, 0]]);
  assert.deepEqual(actions[2]?.type === "connect" && actions[2].target, { host: "2001:db8::1", hostType: "ipv6", port: 25 });
  const udp = runSocks(createSocks5Machine, [Buffer.from([5, 1, 0, 5, 3, 0, 1, 1, 2, 3, 4, 0, 53])]).actions;
  assert.deepEqual(udp[1]?.type === "refused" && [udp[1].command, udp[1].reply[1]], ["udp-associate", 7]);
  const atyp = runSocks(createSocks5Machine, [Buffer.from([5, 1, 0, 5, 1, 0, 9, 1, 2])]).actions;
  assert.deepEqual(atyp[1]?.type === "error" && [atyp[1].reason, atyp[1].reply?.[1]], ["bad-address-type", 8]);
  const gss = runSocks(createSocks5Machine, [Buffer.from([5, 1, 1])]).actions;
  assert.deepEqual(gss[0]?.type === "error" && [...gss[0].reply!], [5, 0xff]);
});

test("HTTP head reader: garbage rejected from the first bytes, limits enforced", () => {
  assert.deepEqual(runHead([Buffer.from([0x16, 3, 1, 0, 0xa5])]).result, { status: "error", reason: "bad-request-line" });
  assert.deepEqual(runHead([Buffer.from("GET")]).result, { status: "more" });
  assert.deepEqual(runHead([Buffer.from("A".repeat(40))]).result, { status: "error", reason: "bad-request-line" });
  assert.deepEqual(runHead([Buffer.from("GET /" + "a".repeat(2000))]).result, { status: "error", reason: "request-line-too-long" });
  const big = "GET http://x/ HTTP/1.1\r\n" + "X-A: " + "b".repeat(5000) + "\r\n\r\n";
  assert.deepEqual(runHead([Buffer.from(big)]).result, { status: "error", reason: "headers-too-large" });
  const many = "GET http://x/ HTTP/1.1\r\n" + "X: y\r\n".repeat(30) + "\r\n";
  assert.deepEqual(runHead([Buffer.from(many)]).result, { status: "error", reason: "too-many-headers" });
  assert.deepEqual(runHead([Buffer.from("GET http://x/ HTTP/1.1\r\nno colon\r\n\r\n")]).result, { status: "error", reason: "bad-header" });
  const ok = runHead([Buffer.from("\r\nCONNECT [2001:db8::1]:25 HTTP/1.1\r\nHost: a\r\n\r\nEHLO")]);
  assert.equal(ok.result.status, "ok");
  assert.equal(Buffer.from(ok.rest, "hex").toString(), "EHLO");
  assert.deepEqual(parseRequestTarget("CONNECT", "[2001:db8::1]:25"), { kind: "authority", scheme: null, host: "2001:db8::1", port: 25, path: "/" });
  assert.deepEqual(parseRequestTarget("GET", "http://u:p@Example.COM:8080/a?b"), { kind: "absolute", scheme: "http", host: "example.com", port: 8080, path: "/a?b" });
  assert.equal(parseRequestTarget("CONNECT", "host:99999").kind, "invalid");
  assert.ok(PROXY_LIMIT_DEFAULTS.maxHeaderBytes >= 8192);
});

test("judge detection and variables: proxy's address as REMOTE_ADDR, no forwarding headers, no proxy credentials", () => {
  assert.ok(isJudgeRequest("judge.example", "/azenv.php", []));
  assert.ok(isJudgeRequest("x.example", "/cgi-bin/judge.php?x", []));
  assert.ok(isJudgeRequest("x.example", "/proxy-check", []));
  assert.ok(isJudgeRequest("x.example", "/check?ip=198.51.100.23&p=3128", ["198.51.100.23"]));
  assert.ok(isJudgeRequest("198.51.100.23", "/", ["198.51.100.23"]));
  assert.ok(!isJudgeRequest("example.com", "/index.html", ["198.51.100.23"]));
  const vars = new Map(
    judgeVariables({
      method: "GET",
      path: "/azenv.php",
      headers: [["Host", "j.example"], ["X-Forwarded-For", "203.0.113.9"], ["Proxy-Authorization", "Basic eA=="], ["User-Agent", "checker"]],
      remoteAddr: "198.51.100.23",
      remotePort: 40000,
      via: "1.1 h (squid/5.7)",
      now: 0,
    }),
  );
  assert.equal(vars.get("REMOTE_ADDR"), "198.51.100.23");
  assert.equal(vars.get("HTTP_USER_AGENT"), "checker");
  assert.equal(vars.has("HTTP_X_FORWARDED_FOR"), false);
  assert.equal(vars.has("HTTP_PROXY_AUTHORIZATION"), false);
  assert.equal(vars.get("HTTP_VIA"), "1.1 h (squid/5.7)");
});
