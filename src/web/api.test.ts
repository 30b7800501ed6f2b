// HTTP API tests against a real sensor fed by a real SMTP client: health, metrics, dashboard, live feed, config, UI
// pages, auth, CSRF, redaction (the message, session and source endpoints are tested in routes/messages.test.ts).
import assert from "node:assert/strict";
import { request, type IncomingMessage } from "node:http";
import { after, before, describe, test } from "node:test";
import { ConfigError, validateConfig } from "../config/load.js";
import { startSensor, type TestSensor } from "../../test/helpers/sensor.js";
import { eml, http, RELAY_TEST, SPAM, sendMail, startSeededSensor, webPort } from "../../test/helpers/web.js";
import { hashPassword, verifyPassword } from "./auth.js";
import { sanitizeMailHtml } from "./sanitize.js";

describe("web API", () => {
  let t: TestSensor;
  let port: number;
  let relayId: number;

  before(async () => {
    ({ t, port, relayId } = await startSeededSensor());
  });
  after(async () => t.close());

  test("healthz", async () => {
    const r = await http(port, "/healthz");
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { status: "ok" });
    assert.equal(r.headers["x-content-type-options"], "nosniff");
    assert.ok(r.headers["content-security-policy"]);
  });

  test("metrics: counters from events, no IP addresses as labels", async () => {
    const r = await http(port, "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"] as string, /^text\/plain/);
    assert.match(r.body, /relaytrap_smtp_sessions_total\{channel="direct"\} 2/);
    assert.match(r.body, /relaytrap_smtp_messages_total\{kind="relay-test"\} 1/);
    assert.match(r.body, /relaytrap_smtp_messages_total\{kind="spam"\} 1/);
    assert.match(r.body, /relaytrap_smtp_relay_tests_total\{matches_sensor="true"\} 1/);
    assert.match(r.body, /relaytrap_smtp_message_bytes_total \d+/);
    assert.match(r.body, /relaytrap_smtp_active_connections 0/);
    assert.match(r.body, /relaytrap_analysis_given_up_total 0/);
    assert.match(r.body, /relaytrap_events_sink_failures_total/);
    assert.doesNotMatch(r.body, /127\.0\.0\.1/);
  });

  test("dropboxes from relay-test verdicts", async () => {
    const d = (await http(port, "/api/v1/dropboxes")).json();
    assert.ok(d.source === "verdicts" || d.source === "table");
    assert.ok(d.items.some((x: { address: string; tests: number }) => x.address === "dropbox@dropbox.example" && x.tests === 1));
  });

  test("summary: totals from the store's counters equal a COUNT over the rows", async () => {
    const s = (await http(port, "/api/v1/summary")).json();
    const counted = t.sensor.reader.get<Record<string, number>>(
      `SELECT (SELECT COUNT(*) FROM sessions) AS sessions, COUNT(*) AS messages, SUM(kind = 'relay-test') AS relayTests,
         SUM(kind = 'spam') AS spam, SUM(kind = 'other') AS other, SUM(size) AS bytes,
         (SELECT COUNT(*) FROM (SELECT src_ip FROM sessions UNION SELECT src_ip FROM messages)) AS sources FROM messages`,
    );
    assert.deepEqual(s.totals, counted);
    assert.deepEqual(s.totals, { ...s.totals, sessions: 2, messages: 2, relayTests: 1, spam: 1, other: 0, sources: 1 });
    assert.deepEqual(s.last24h, s.totals);
    assert.deepEqual(
      s.topSources.map((x: { ip: string; sessions: number; messages: number; relayTests: number }) => [x.ip, x.sessions, x.messages, x.relayTests]),
      [["127.0.0.1", 2, 2, 1]],
    );
    assert.deepEqual(
      s.topDropboxes.map((d: { address: string; tests: number; sources: number }) => [d.address, d.tests, d.sources]),
      [["dropbox@dropbox.example", 1, 1]],
    );
  });

  test("stats/attempts per day, week, month computed in SQL", async () => {
    for (const bucket of ["day", "week", "month"]) {
      const s = (await http(port, `/api/v1/stats/attempts?bucket=${bucket}`)).json();
      assert.equal(s.bucket, bucket);
      const total = s.series.reduce((a: { s: number; m: number; t: number }, b: { sessions: number; messages: number; relayTests: number }) => ({ s: a.s + b.sessions, m: a.m + b.messages, t: a.t + b.relayTests }), { s: 0, m: 0, t: 0 });
      assert.deepEqual(total, { s: 2, m: 2, t: 1 }, bucket);
      assert.match(s.series[0].start, /^\d{4}-\d\d-\d\dT00:00:00\.000Z$/);
    }
    const w = (await http(port, "/api/v1/stats/attempts?bucket=week")).json();
    assert.equal(new Date(w.series[0].start).getUTCDay(), 1, "weeks start on Monday");
    assert.equal((await http(port, "/api/v1/stats/attempts?bucket=year")).status, 400);
    assert.equal((await http(port, "/api/v1/stats/attempts?since=2000&until=1000")).status, 400);
  });

  test("events: SSE stream of new sessions and messages", async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/api/v1/events" }, (res) => {
        assert.equal(res.headers["content-type"], "text/event-stream; charset=utf-8");
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          buf += d;
          if (buf.includes("smtp.message.stored")) {
            req.destroy();
            resolve(buf);
          }
        });
        void sendMail(t, "a@b.example", ["c@d.example"], eml(["Subject: live one"], "hello\n")).catch(reject);
      });
      req.on("error", () => {});
      req.end();
    });
    assert.match(got, /event: relaytrap\ndata: \{.*"eventid":"smtp\.session\.connect"/);
    assert.match(got, /"subject":"live one"/);
  });

  test("config: effective config, secrets masked; the kill switch needs the CSRF token", async () => {
    const c = (await http(port, "/api/v1/config")).json();
    assert.equal(c.persona, "postfix");
    assert.ok("web" in c);
    // Only secrets are masked: booleans and numbers never, whatever their key says (allowPrivateMx was "********").
    assert.equal(c.delivery.allowPrivateMx, false);
    assert.equal(c.delivery.enabled, false);
    assert.equal(c.delivery.maxPerDay, 20);
    const ks = (await http(port, "/api/v1/delivery/kill-switch")).json();
    const state = (killSwitchEngaged: boolean, effective: string) => ({ configEnabled: false, killSwitchEngaged, dryRun: false, effective, sending: false });
    assert.deepEqual(ks, { available: true, engaged: false, state: state(false, "off (config)") });
    const noToken = await http(port, "/api/v1/delivery/kill-switch", { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"engaged":true}' });
    assert.equal(noToken.status, 403);
    const me = (await http(port, "/api/v1/me")).json();
    assert.equal(me.level, "admin");
    const withToken = await http(port, "/api/v1/delivery/kill-switch", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf },
      body: '{"engaged":true}',
    });
    assert.equal(withToken.status, 200);
    assert.deepEqual(withToken.json(), { available: true, engaged: true, state: state(true, "off (config)") });
    assert.deepEqual((await http(port, "/api/v1/delivery/kill-switch")).json(), { available: true, engaged: true, state: state(true, "off (config)") });
    const crossSite = await http(port, "/api/v1/delivery/kill-switch", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": me.csrf, Origin: "http://evil.example" },
      body: '{"engaged":false}',
    });
    assert.equal(crossSite.status, 403);
  });

  test("UI pages: strict CSP on every HTML response; Host header checked without users", async () => {
    for (const p of ["/", "/messages", `/messages/${relayId}`, "/dropboxes", "/login", "/config"]) {
      const r = await http(port, p);
      assert.equal(r.status, 200, p);
      assert.match(r.headers["content-type"] as string, /^text\/html/);
      const csp = r.headers["content-security-policy"] as string;
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'self'/);
      assert.doesNotMatch(r.body, /https?:\/\//, "no remote URLs in the page");
    }
    for (const a of ["/assets/app.js", "/assets/app.css", "/assets/uplot.esm.js", "/assets/uplot.min.css"]) assert.equal((await http(port, a)).status, 200, a);
    assert.equal((await http(port, "/", { headers: { Host: "evil.example:8025" } })).status, 421);
  });
});

describe("web auth", () => {
  let t: TestSensor;
  let port: number;
  let relayId: number;

  before(async () => {
    t = await startSensor({
      web: { users: [{ name: "admin", passwordHash: await hashPassword("correct horse") }], public: true, loginAttemptsPerMinute: 3 },
    });
    port = webPort(t);
    relayId = await sendMail(t, "tester@dropbox.example", ["dropbox@dropbox.example"], RELAY_TEST("127.0.0.1"));
    await sendMail(t, "pills@spam.example", ["victim@example.com"], SPAM);
  });
  after(async () => t.close());

  const login = (name: string, password: string, headers: Record<string, string> = {}) =>
    http(port, "/api/v1/login", { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify({ name, password }) });

  test("public view: relay tests only, addresses redacted, no raw or sessions", async () => {
    const me = (await http(port, "/api/v1/me")).json();
    assert.equal(me.level, "public");
    const list = (await http(port, "/api/v1/messages")).json();
    assert.deepEqual(list.items.map((m: { id: number }) => m.id), [relayId]);
    assert.equal(list.items[0].mailFrom, "***@dropbox.example");
    assert.deepEqual(list.items[0].rcptTo, ["***@dropbox.example"]);
    assert.equal((await http(port, "/api/v1/messages?kind=spam")).status, 403);
    const m = (await http(port, `/api/v1/messages/${relayId}`)).json();
    assert.doesNotMatch(JSON.stringify(m), /dropbox@|tester@/);
    const d = (await http(port, "/api/v1/dropboxes")).json();
    assert.doesNotMatch(JSON.stringify(d), /dropbox@/);
    assert.equal((await http(port, "/api/v1/summary")).status, 200);
    assert.equal((await http(port, "/api/v1/stats/attempts")).status, 200);
    for (const p of [`/api/v1/messages/${relayId}/raw`, `/api/v1/messages/${relayId}/html`, "/api/v1/config", "/api/v1/sources/127.0.0.1", `/api/v1/sessions/${m.sessionId}`]) {
      assert.equal((await http(port, p)).status, 403, p);
    }
  });

  test("100 anonymous live streams do not starve a signed-in admin's live feed (issue 14)", async () => {
    const open = (headers: Record<string, string> = {}) =>
      new Promise<{ status: number; req: ReturnType<typeof request> }>((resolve, reject) => {
        const req = request({ host: "127.0.0.1", port, path: "/api/v1/events", headers }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, req });
        });
        req.on("error", reject);
        req.end();
      });
    const anonymous = await Promise.all(Array.from({ length: 100 }, () => open()));
    try {
      assert.equal(anonymous.filter((a) => a.status === 200).length, 50, "web.maxPublicLiveClients, default 50");
      assert.equal(anonymous.filter((a) => a.status === 503).length, 50);
      const ok = await login("admin", "correct horse");
      assert.equal(ok.status, 200);
      const session = (ok.headers["set-cookie"] as string[])[0]!.split(";")[0]!;
      const admins = [];
      // Past web.maxAdminLiveClients (default 20) the oldest admin stream is closed, never the new one refused.
      for (let i = 0; i < 25; i++) admins.push(await open({ Cookie: session }));
      try {
        for (const a of admins) assert.equal(a.status, 200);
      } finally {
        for (const a of admins) a.req.destroy();
      }
    } finally {
      for (const a of anonymous) a.req.destroy();
    }
  });

  test("login: bad password 401, cookie HttpOnly SameSite=Strict, CSRF on logout, rate limit", async () => {
    assert.equal((await login("admin", "wrong")).status, 401);
    assert.equal((await login("nobody", "wrong")).status, 401);
    assert.equal((await login("admin", "x", { Origin: "http://evil.example" })).status, 403);
    const ok = await login("admin", "correct horse");
    assert.equal(ok.status, 200);
    const cookie = (ok.headers["set-cookie"] as string[])[0]!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    assert.doesNotMatch(cookie, /Secure/);
    const behindTls = await login("admin", "correct horse", { "X-Forwarded-Proto": "https" });
    assert.match((behindTls.headers["set-cookie"] as string[])[0]!, /; Secure/);
    const session = cookie.split(";")[0]!;
    const { csrf } = ok.json();
    const me = (await http(port, "/api/v1/me", { headers: { Cookie: session } })).json();
    assert.equal(me.user, "admin");
    assert.equal(me.csrf, csrf);
    assert.equal((await http(port, `/api/v1/messages/${relayId}/raw`, { headers: { Cookie: session } })).status, 200);
    // State-changing requests need the CSRF token.
    assert.equal((await http(port, "/api/v1/logout", { method: "POST", headers: { Cookie: session } })).status, 403);
    assert.equal((await http(port, "/api/v1/logout", { method: "POST", headers: { Cookie: session, "X-CSRF-Token": "wrong" } })).status, 403);
    assert.equal((await http(port, "/api/v1/logout", { method: "POST", headers: { Cookie: session, "X-CSRF-Token": csrf } })).status, 200);
    assert.equal((await http(port, "/api/v1/config", { headers: { Cookie: session } })).status, 403);
    // Three failures a minute, then 429 even for the right password.
    await login("admin", "bad1");
    await login("admin", "bad2");
    await login("admin", "bad3");
    const limited = await login("admin", "correct horse");
    assert.equal(limited.status, 429);
  });

  test("the Host check does not apply with users (reverse proxies)", async () => {
    assert.equal((await http(port, "/healthz", { headers: { Host: "honeypot.example.net" } })).status, 200);
  });
});

describe("web public view under hostile address forms (issue 14)", () => {
  let t: TestSensor;
  let port: number;
  const SECRETS = /idnlocal|quotedlocal|brienlocal|displaylocal|secretname|grouplocal|undisclosed-group|literallocal|encodedlocal|commentlocal|insidelocal|punylocal|testerlocal/i;
  const hostileRelayTest = eml(
    [
      "From: =?utf-8?B?RW5jb2RlZCBTZWNyZXRuYW1l?= <encodedlocal@enc.example>",
      "To: Display Secretname <displaylocal@x.example>",
      'Cc: undisclosed-group: grouplocal@g.example, "grp quotedlocal2"@g.example;',
      "Reply-To: commentlocal(a comment)@c.example",
      "Subject: Open relay test 127.0.0.1 for idnlocal@ämple.example",
      "Date: Mon, 2 Jan 2012 10:00:00 +0000",
    ],
    'relay test 127.0.0.1 to "at@insidelocal"@q.example and punylocal@xn--mple-goa.example, o\'brienlocal@apos.example\n',
  );

  before(async () => {
    t = await startSensor({ web: { users: [{ name: "admin", passwordHash: await hashPassword("correct horse") }], public: true } });
    port = webPort(t);
  });
  after(async () => t.close());

  test("no public endpoint, search or live stream gives a hidden local part or display name away", async () => {
    let stream = "";
    const { sse, res } = await new Promise<{ sse: ReturnType<typeof request>; res: IncomingMessage }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/api/v1/events" }, (res) => {
        assert.equal(res.statusCode, 200);
        res.setEncoding("utf8");
        res.on("data", (d: string) => (stream += d));
        resolve({ sse: req, res });
      });
      req.on("error", reject);
      req.end();
    });
    try {
      // The test client writes latin1: hand it UTF-8 bytes.
      const u8 = (x: string) => Buffer.from(x, "utf8").toString("latin1");
      const id = await sendMail(t, "testerlocal@t.example", ['"quotedlocal dropbox"@gmail.example', u8("idnlocal@ämple.example"), "literallocal@[192.0.2.55]", "o'brienlocal@apos.example"], u8(hostileRelayTest));
      await sendMail(t, "pills@spam.example", ["victim@example.com"], SPAM);
      const m = (await http(port, `/api/v1/messages/${id}`)).json();
      assert.equal(m.kind, "relay-test", "the hostile message is a relay test, so the public view shows it");
      for (const p of ["/api/v1/messages", `/api/v1/messages/${id}`, "/api/v1/dropboxes", "/api/v1/summary", "/api/v1/messages?kind=relay-test&limit=500"]) {
        const r = await http(port, p);
        assert.equal(r.status, 200, p);
        assert.doesNotMatch(r.body, SECRETS, p);
      }
      const list = (await http(port, "/api/v1/messages")).json();
      assert.deepEqual(list.items[0].rcptTo, ["***@gmail.example", "***@ämple.example", "***@[192.0.2.55]", "***@apos.example"]);
      // Search matches public fields only: no prefix of a hidden local part finds the message, a public word does.
      for (const q of ["idnl", "idnlocal", "quotedl", "brienl", "displayl", "secretn", "literall", "testerl", "insidel", "relay idnl"]) {
        const r = (await http(port, "/api/v1/messages?q=" + encodeURIComponent(q))).json();
        assert.deepEqual(r.items, [], q);
        assert.equal(r.next, null, q);
      }
      assert.deepEqual((await http(port, "/api/v1/messages?q=relay")).json().items.map((x: { id: number }) => x.id), [id]);
      assert.deepEqual((await http(port, "/api/v1/messages?dropbox=" + encodeURIComponent('"quotedlocal dropbox"@gmail.example'))).json().items, []);
      assert.deepEqual((await http(port, "/api/v1/messages?dropbox=" + encodeURIComponent("***@gmail.example"))).json().items.map((x: { id: number }) => x.id), [id]);
      // The live stream: the relay test in its public form, no sessions, no spam, nothing hidden.
      await new Promise<void>((resolve) => {
        if (stream.includes(`"message":${id}`)) return resolve();
        const onData = () => {
          if (!stream.includes(`"message":${id}`)) return;
          res.off("data", onData);
          resolve();
        };
        res.on("data", onData);
      });
      assert.doesNotMatch(stream, SECRETS);
      assert.doesNotMatch(stream, /smtp\.session|Zyxwv|pharmacy/);
      assert.match(stream, /"eventid":"smtp\.message\.stored"/);
    } finally {
      sse.destroy();
    }
  });
});

describe("web config", () => {
  test("a non-loopback webListen without users refuses to start, naming web.users", () => {
    assert.throws(
      () => validateConfig({ webListen: "0.0.0.0:8025" }),
      (err: unknown) => err instanceof ConfigError && err.key === "web.users",
    );
    const hash = "scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==";
    assert.equal(validateConfig({ webListen: "0.0.0.0:8025", web: { users: [{ name: "a", passwordHash: hash }] } }).web.users.length, 1);
    // The env form NAME:HASH.
    assert.deepEqual(validateConfig({ web: { users: [`bob:${hash}`] } }).web.users, [{ name: "bob", passwordHash: hash }]);
    assert.equal(validateConfig({ webListen: "[::1]:8025" }).webListen, "[::1]:8025");
  });

  test("a listen host is judged by what it resolves to, not by its spelling (issue 14)", async () => {
    const lookup = async (host: string): Promise<string[]> => {
      if (host === "127.rt-trap") return ["192.0.2.10"];
      if (host === "trap.localtest") return ["127.0.0.1"];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
    };
    await assert.rejects(startSensor({ webListen: "127.rt-trap:0" }, { lookup }), /web\.users/);
    // A name that resolves to loopback only is served without users, on the address it resolved to.
    const t = await startSensor({ webListen: "trap.localtest:0" }, { lookup });
    try {
      assert.equal((await http(webPort(t), "/api/v1/me")).json().level, "admin");
    } finally {
      await t.close();
    }
  });

  test("scrypt hashes verify", async () => {
    const h = await hashPassword("s3cret");
    assert.match(h, /^scrypt\$16384\$8\$1\$/);
    assert.equal(await verifyPassword("s3cret", h), true);
    assert.equal(await verifyPassword("s3cret!", h), false);
    assert.equal(await verifyPassword("s3cret", "garbage"), false);
  });

  test("sanitizer strips scripts, handlers, forms, remote images, CSS url() and meta refresh", () => {
    const out = sanitizeMailHtml(
      '<meta http-equiv="refresh" content="0;url=http://x.example/"><style>body{background:url(http://x.example/a.png)}</style>' +
        '<div style="background-image:url(http://x.example/b.png);color:red">hi</div><form action="http://x.example/"><input name=a></form>' +
        '<img src="http://x.example/c.png" onerror="alert(1)"><img src="//x.example/d.png"><a href="javascript:alert(1)">l</a>' +
        '<svg><image href="http://x.example/e.png"/></svg><link rel=stylesheet href="http://x.example/f.css"><img src="data:image/png;base64,iVBORw0KGgo=">',
    );
    assert.doesNotMatch(out, /x\.example\/[a-f]\.(png|css)"|url\(|<meta|<style|<form|<input|onerror|javascript:|<svg|<link/i);
    assert.match(out, /hi/);
    assert.match(out, /<img src="data:image\/png;base64,/);
  });
});
