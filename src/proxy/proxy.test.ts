// The proxy trap end to end, in-process: real clients (curl's SOCKS4/4a/5 and HTTP CONNECT, nodemailer) send mail
// through it into the SMTP trap while "victim" servers on 127.0.0.9 count the connections they get (must be none);
// a judge request; hostile and slow clients.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import nodemailer from "nodemailer";
import { Raw } from "../../test/helpers/raw-client.js";
import { startSensor, type TestSensor } from "../../test/helpers/sensor.js";
import type { RelaytrapEvent } from "../events/dispatcher.js";
import { listProxyRequests, listProxySessions } from "../store/sqlite/proxy.js";

const run = promisify(execFile);
const VICTIM_IP = "127.0.0.9";
const VICTIM_PORTS = [25, 465, 587, 2525, 80];

/** Servers standing in for the real targets; any connection to them would mean a proxied connection left the trap. */
async function startVictims(): Promise<{ connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const servers: Server[] = [];
  for (const port of VICTIM_PORTS) {
    const s = createServer((sock) => {
      n++;
      sock.end("220 victim ESMTP\r\n");
    });
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, VICTIM_IP, () => resolve());
    });
    servers.push(s);
  }
  return { connections: () => n, close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined) };
}

/** A minimal SOCKS5 client (no-auth) for nodemailer's getSocket: nodemailer needs the `socks` package otherwise. */
function socks5Socket(proxyPort: number, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: proxyPort });
    s.once("error", reject);
    let buf = Buffer.alloc(0);
    let step = 0;
    s.on("connect", () => s.write(Buffer.from([5, 1, 0])));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (step === 0 && buf.length >= 2) {
        if (buf[1] !== 0) return reject(new Error("method refused"));
        buf = buf.subarray(2);
        step = 1;
        const name = Buffer.from(host);
        s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
      }
      if (step === 1 && buf.length >= 10) {
        // The greeting may have come in the same chunk as our reply: put it back, and flow again only once
        // nodemailer listens (as nodemailer's own http-proxy-client does).
        s.off("data", onData);
        s.pause();
        if (buf.length > 10) s.unshift(buf.subarray(10));
        if (buf[1] !== 0) return reject(new Error(`socks reply ${buf[1]}`));
        const resumeOnData = (event: string | symbol) => {
          if (event !== "data") return;
          s.off("newListener", resumeOnData);
          s.resume();
        };
        s.on("newListener", resumeOnData);
        resolve(s);
      }
    };
    s.on("data", onData);
  });
}

function proxyPort(t: TestSensor): number {
  const l = t.sensor.listeners.find((x) => x.kind === "proxy");
  assert.ok(l, "a proxy listener");
  return l.port;
}

describe("proxy trap with real clients", () => {
  let t: TestSensor;
  let victims: Awaited<ReturnType<typeof startVictims>>;
  let port: number;
  let msgFile: string;

  before(async () => {
    victims = await startVictims();
    t = await startSensor({ proxyListen: ["127.0.0.1:0"] });
    port = proxyPort(t);
    msgFile = join(t.dataDir, "msg.eml");
    writeFileSync(msgFile, "From: a@b.example\r\nTo: x@yahoo.com\r\nSubject: proxy relay test\r\n\r\nhello through the proxy\r\n");
  });
  after(async () => {
    await t.close();
    await victims.close();
  });

  /** The stored-message event of the SMTP session that came in on `channel` for `target`. */
  async function trapped(channel: string, target: string): Promise<RelaytrapEvent> {
    const conn = await t.waitEvent("smtp.session.connect", (e) => e.channel === channel && e.target === target);
    return t.waitEvent("smtp.message.stored", (e) => e.session === conn.session);
  }

  const curlCases: Array<{ name: string; url: string; args: (p: number) => string[]; channel: string; target: string; greeting: string }> = [
    { name: "--socks5 (IPv4, resolved by curl)", url: `smtp://${VICTIM_IP}:25`, args: (p) => ["--socks5", `127.0.0.1:${p}`], channel: "socks5", target: `${VICTIM_IP}:25`, greeting: VICTIM_IP },
    { name: "--socks5-hostname with user/pass", url: "smtp://mx.victim.example:587", args: (p) => ["--socks5-hostname", `spam:er@127.0.0.1:${p}`], channel: "socks5", target: "mx.victim.example:587", greeting: "mx.victim.example" },
    { name: "--socks4", url: `smtp://${VICTIM_IP}:2525`, args: (p) => ["--socks4", `127.0.0.1:${p}`], channel: "socks4", target: `${VICTIM_IP}:2525`, greeting: VICTIM_IP },
    { name: "--socks4a with userid", url: "smtp://mx4a.victim.example:25", args: (p) => ["--socks4a", `bob@127.0.0.1:${p}`], channel: "socks4", target: "mx4a.victim.example:25", greeting: "mx4a.victim.example" },
    { name: "-x http --proxytunnel", url: "smtp://mxhttp.victim.example:25", args: (p) => ["-x", `http://u2:p2@127.0.0.1:${p}`, "--proxytunnel"], channel: "http-connect", target: "mxhttp.victim.example:25", greeting: "mxhttp.victim.example" },
    { name: "--socks5-hostname to 465 (implicit TLS)", url: "smtps://mxtls.victim.example:465", args: (p) => ["--socks5-hostname", `127.0.0.1:${p}`, "-k"], channel: "socks5", target: "mxtls.victim.example:465", greeting: "mxtls.victim.example" },
  ];

  for (const c of curlCases) {
    test(`curl ${c.name}: the message is trapped with channel and intended target`, async () => {
      const { stderr } = await run("curl", ["-sS", "-v", "--max-time", "20", c.url, "--mail-from", "a@b.example", "--mail-rcpt", "x@yahoo.com", "-T", msgFile, ...c.args(port)]);
      assert.match(stderr, new RegExp(`< 220 ${c.greeting.replace(/\./g, "\\.")} ESMTP`));
      assert.match(stderr, /< 250 2\.0\.0 Ok: queued as/);
      const stored = await trapped(c.channel, c.target);
      const row = t.sensor.reader.getMessage(stored.message as number);
      assert.equal(row?.channel, c.channel);
      assert.deepEqual(row?.rcptTo, ["x@yahoo.com"]);
      await t.waitEvent("proxy.smtp.diverted", (e) => e.target === c.target);
    });
  }

  test("nodemailer through the HTTP proxy (its own proxy option) and through SOCKS5 (getSocket)", async () => {
    const viaHttp = nodemailer.createTransport({ host: "mxnm.victim.example", port: 587, proxy: `http://127.0.0.1:${port}`, ignoreTLS: true });
    await viaHttp.sendMail({ from: "a@b.example", to: "y@gmail.example", subject: "nm http", text: "x" });
    await trapped("http-connect", "mxnm.victim.example:587");

    const viaSocks = nodemailer.createTransport({
      host: "mxnms.victim.example",
      port: 25,
      ignoreTLS: true,
      getSocket: (o: { host: string; port: number }, cb: (err: Error | null, socketOptions?: { connection: Socket }) => void) => {
        socks5Socket(port, o.host, o.port).then((connection) => cb(null, { connection }), (err: Error) => cb(err));
      },
    } as Parameters<typeof nodemailer.createTransport>[0]);
    await viaSocks.sendMail({ from: "a@b.example", to: "z@gmail.example", subject: "nm socks", text: "x" });
    const stored = await trapped("socks5", "mxnms.victim.example:25");
    assert.equal(stored.subject, "nm socks");
  });

  test("judge: curl -x http://proxy http://127.0.0.9/azenv.php gets an azenv page with Squid's Via", async () => {
    const { stdout } = await run("curl", ["-sS", "-i", "--max-time", "10", "-x", `http://127.0.0.1:${port}`, `http://${VICTIM_IP}/azenv.php`]);
    assert.match(stdout, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(stdout, /\r\nVia: 1\.1 mail\.example\.org \(squid\/5\.7\)\r\n/);
    assert.match(stdout, /REMOTE_ADDR = 127\.0\.0\.1\n/);
    assert.match(stdout, /HTTP_HOST = 127\.0\.0\.9\n/);
    assert.match(stdout, /HTTP_USER_AGENT = curl\//);
    assert.doesNotMatch(stdout, /X_FORWARDED_FOR/);
    await t.waitEvent("proxy.request", (e) => e.outcome === "judge" && e.target === `http://${VICTIM_IP}/azenv.php`);
  });

  test("other targets: a Squid ERR_CONNECT_FAIL page; CONNECT to port 80 is granted and the judge answered inside", async () => {
    const { stdout } = await run("curl", ["-sS", "-i", "--max-time", "10", "-x", `http://127.0.0.1:${port}`, "http://www.example.com/"]);
    assert.match(stdout, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(stdout, /\r\nServer: squid\/5\.7\r\n/);
    assert.match(stdout, /X-Squid-Error: ERR_CONNECT_FAIL 111/);
    assert.match(stdout, /<!-- ERR_CONNECT_FAIL -->/);
    const viaSocks = await run("curl", ["-sS", "--max-time", "10", "--socks5-hostname", `127.0.0.1:${port}`, "http://judge.example/azenv.php"]);
    assert.match(viaSocks.stdout, /REMOTE_ADDR = 127\.0\.0\.1\n/);
    assert.doesNotMatch(viaSocks.stdout, /HTTP_VIA/);
    await t.waitEvent("proxy.request", (e) => e.outcome === "tunnel" && e.target === "judge.example:80");
  });

  test("SOCKS BIND / UDP ASSOCIATE are refused with the right codes", async () => {
    const s4 = await Raw.open(port);
    s4.write(Buffer.from([4, 2, 0, 80, 1, 2, 3, 4, 0]));
    assert.deepEqual([...(await s4.waitBytes(8)).subarray(0, 2)], [0, 0x5b]);
    await s4.closed;
    const s5 = await Raw.open(port);
    s5.write(Buffer.from([5, 1, 0]));
    await s5.waitBytes(2);
    s5.write(Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
    const r = await s5.waitBytes(12);
    assert.deepEqual([...r.subarray(0, 4)], [5, 0, 5, 7]);
    await s5.closed;
  });

  test("stored: proxy sessions with credentials and requests with outcomes; the victims got zero connections", async () => {
    // Session rows are written when the connection ends: wait for those we check, then for the writer's queue.
    for (const user of ["spam", "bob", "u2"]) {
      const auth = await t.waitEvent("proxy.auth.attempt", (e) => e.username === user);
      await t.waitEvent("proxy.session.closed", (e) => e.session === auth.session);
    }
    await t.sensor.writer.exec([]);
    const reqs = listProxyRequests(t.sensor.reader, { limit: 1000 });
    const diverted = reqs.filter((r) => r.outcome === "smtp-diverted").map((r) => r.target);
    for (const c of curlCases) assert.ok(diverted.includes(c.target), `${c.target} in ${diverted.join(", ")}`);
    assert.ok(reqs.some((r) => r.outcome === "judge"));
    assert.ok(reqs.some((r) => r.outcome === "refused" && r.method === "UDP"));
    const sessions = listProxySessions(t.sensor.reader, { limit: 1000 });
    assert.ok(sessions.some((s) => s.protocol === "socks5" && s.username === "spam" && s.password === "er"));
    assert.ok(sessions.some((s) => s.protocol === "socks4" && s.username === "bob"));
    assert.ok(sessions.some((s) => s.protocol === "http" && s.username === "u2" && s.password === "p2"));
    assert.equal(victims.connections(), 0, "no proxied connection may leave the trap");
  });
});

describe("proxy trap under hostile input", () => {
  let t: TestSensor;
  let port: number;

  before(async () => {
    t = await startSensor({
      proxyListen: ["127.0.0.1:0"],
      proxy: { otherTargets: "timeout", limits: { handshakeTimeoutMs: 400, idleTimeoutMs: 5000, upstreamTimeoutMs: 100, maxHeaderBytes: 16384 } },
    });
    port = proxyPort(t);
  });
  after(() => t.close());

  async function closedReason(raw: Raw): Promise<string> {
    await raw.closed;
    const e = await t.waitEvent("proxy.session.closed", (x) => x.src_port === raw.localPort);
    return e.reason as string;
  }

  test("truncated SOCKS5 greeting, then EOF: closed, no crash", async () => {
    const r = await Raw.open(port);
    r.write(Buffer.from([5, 3, 0]));
    r.socket.end();
    assert.equal(await closedReason(r), "client-closed");
  });

  test("wrong versions: SOCKS5 auth version 9 gets 01 01; a SOCKS5 request with version 4 is closed", async () => {
    const a = await Raw.open(port);
    a.write(Buffer.from([5, 1, 2]));
    await a.waitBytes(2);
    a.write(Buffer.from([9, 1, 0x41, 1, 0x42]));
    assert.deepEqual([...(await a.waitBytes(4)).subarray(2, 4)], [1, 1]);
    assert.match(await closedReason(a), /bad-handshake: bad-auth-version/);
    const b = await Raw.open(port);
    b.write(Buffer.from([5, 1, 0]));
    await b.waitBytes(2);
    b.write(Buffer.from([4, 1, 0, 1, 1, 2, 3, 4, 0, 25]));
    assert.match(await closedReason(b), /bad-handshake: bad-version/);
  });

  test("giant headers: Squid 400 ERR_TOO_BIG, closed", async () => {
    const r = await Raw.open(port);
    r.socket.on("error", () => {});
    r.write("GET http://x.example/ HTTP/1.1\r\nX-Big: " + "a".repeat(40_000) + "\r\n\r\n");
    const text = await r.waitText("</html>");
    assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(text, /ERR_TOO_BIG/);
    assert.match(await closedReason(r), /bad-request: headers-too-large/);
  });

  test("binary garbage: TLS-looking bytes get 400 ERR_INVALID_REQ; SOCKS4 garbage is rejected; sensor still serves", async () => {
    const r = await Raw.open(port);
    r.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xff, 0xfe]));
    assert.match(await r.waitText("</html>"), /ERR_INVALID_REQ/);
    await r.closed;
    const s = await Raw.open(port);
    s.write(Buffer.concat([Buffer.from([4, 1, 0, 25, 0, 0, 0, 9]), Buffer.alloc(600, 0x41)]));
    assert.deepEqual([...(await s.waitBytes(2)).subarray(0, 2)], [0, 0x5b]);
    await s.closed;
    const ok = await Raw.open(port);
    ok.write("GET http://1.2.3.4/judge.php HTTP/1.0\r\n\r\n");
    assert.match(await ok.waitText("</html>"), /REMOTE_ADDR = /);
  });

  test("slowloris: a head trickled a byte at a time is cut by the handshake timeout", async () => {
    const r = await Raw.open(port);
    r.write("GET http://x.example/ HTTP/1.1\r\nX-Slow: ");
    const drip = setInterval(() => r.socket.writable && r.write("a"), 50);
    try {
      assert.equal(await closedReason(r), "handshake-timeout");
    } finally {
      clearInterval(drip);
    }
  });

  test("otherTargets=timeout: the request is held, then answered 504 as after Squid's connect timeout", async () => {
    const r = await Raw.open(port);
    r.write("GET http://www.example.com/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
    const text = await r.waitText("</html>");
    assert.match(text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.match(text, /\(110\) Connection timed out/);
    const s = await Raw.open(port);
    s.write(Buffer.from([5, 1, 0]));
    await s.waitBytes(2);
    s.write(Buffer.from([5, 1, 0, 1, 93, 184, 216, 34, 1, 187]));
    assert.deepEqual([...(await s.waitBytes(4)).subarray(2, 4)], [5, 4]);
  });
});

describe("proxy trap under pressure", () => {
  async function closedReason(t: TestSensor, port: number): Promise<string> {
    const e = await t.waitEvent("proxy.session.closed", (x) => x.src_port === port);
    return e.reason as string;
  }

  test("when full, a new client evicts the longest-idle connection of the most-connected source", async () => {
    const t = await startSensor({
      proxyListen: ["127.0.0.1:0"],
      proxy: { limits: { maxSessions: 3, maxSessionsPerIp: 3, stressHighWaterPercent: 100, stressIdleTimeoutMs: 60_000 } },
    });
    try {
      const port = proxyPort(t);
      const opened: Raw[] = [];
      for (const from of ["127.0.0.2", "127.0.0.3", "127.0.0.2"]) {
        opened.push(await Raw.open(port, from));
        await t.waitEvent("proxy.session.connect", (e) => e.src_port === opened[opened.length - 1]!.localPort);
        // lastActive has millisecond resolution: keep the connections apart in time.
        await new Promise((r) => setTimeout(r, 5));
      }
      const c = await Raw.open(port, "127.0.0.1");
      c.write("GET http://x.example/ HTTP/1.0\r\n\r\n");
      assert.match(await c.waitText("</html>"), /^HTTP\/1\.1 503 /);
      // 127.0.0.2 holds the most: its longest idle (the first) made room.
      await opened[0]!.closed;
      assert.equal(await closedReason(t, opened[0]!.localPort), "stress-evicted");
      assert.equal(opened[1]!.socket.destroyed, false);
      assert.equal(opened[2]!.socket.destroyed, false);
      for (const r of opened) r.socket.destroy();
    } finally {
      await t.close();
    }
  });

  test("under stress, idle connections are closed after stressIdleTimeoutMs", async () => {
    const t = await startSensor({
      proxyListen: ["127.0.0.1:0"],
      proxy: { limits: { maxSessions: 4, stressHighWaterPercent: 50, stressIdleTimeoutMs: 300, idleTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 } },
    });
    try {
      const port = proxyPort(t);
      const a = await Raw.open(port);
      const b = await Raw.open(port);
      const t0 = Date.now();
      await Promise.all([a.closed, b.closed]);
      assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`);
      assert.equal(await closedReason(t, a.localPort), "stress-idle-timeout");
      assert.equal(await closedReason(t, b.localPort), "stress-idle-timeout");
    } finally {
      await t.close();
    }
  });

  test("a client that pipelines requests and never reads: unsent answers stay within maxPendingOutputBytes", async () => {
    const limit = 16 * 1024;
    const t = await startSensor({ proxyListen: ["127.0.0.1:0"], proxy: { limits: { maxPendingOutputBytes: limit, maxRequestsPerSession: 1_000_000 } } });
    try {
      const port = proxyPort(t);
      // No data listener: this socket reads nothing once its small buffer is full.
      const s = connect({ host: "127.0.0.1", port });
      s.on("error", () => {});
      await new Promise<void>((r) => s.once("connect", () => r()));
      s.write("GET http://x.example/ HTTP/1.1\r\nHost: x.example\r\n\r\n".repeat(20_000));
      let max = 0;
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        max = Math.max(max, t.sensor.proxy.maxBufferedBytes);
      }
      s.destroy();
      // One answer (a Squid error page, ~4 KB) may go past the limit.
      assert.ok(max <= limit + 8192, `${max} bytes of answers held for one client`);
      // The trap still answers others.
      const ok = await Raw.open(port);
      ok.write("GET http://x.example/ HTTP/1.0\r\n\r\n");
      assert.match(await ok.waitText("</html>"), /^HTTP\/1\.1 503 /);
    } finally {
      await t.close();
    }
  });
});
