// The SMTP state machine over real sockets: replies, sequencing, pipelining, BDAT, STARTTLS, AUTH, limits.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SmtpClient } from "../../test/helpers/smtp-client.js";
import { startSensor, type TestSensor } from "../../test/helpers/sensor.js";

describe("smtp session (postfix persona)", () => {
  let t: TestSensor;
  before(async () => {
    t = await startSensor({}, { smtps: true });
  });
  after(() => t.close());

  it("greets, lists the EHLO keywords in Postfix order, and accepts a relay to any remote domain", async () => {
    const c = await SmtpClient.connect(t.port);
    assert.deepEqual(await c.reply(), ["220 mail.example.org ESMTP Postfix (Debian/GNU)"]);
    assert.deepEqual(await c.send("EHLO client.example"), [
      "250-mail.example.org",
      "250-PIPELINING",
      "250-SIZE 10240000",
      "250-VRFY",
      "250-ETRN",
      "250-STARTTLS",
      "250-ENHANCEDSTATUSCODES",
      "250-8BITMIME",
      "250-DSN",
      "250-SMTPUTF8",
      "250 CHUNKING",
    ]);
    await c.expect("MAIL FROM:<test@live.com>", "250 2.1.0 Ok");
    await c.expect("RCPT TO:<a@yahoo.com>", "250 2.1.5 Ok");
    await c.expect("RCPT TO:<b@[192.0.2.7]>", "250 2.1.5 Ok");
    await c.expect("DATA", "354 End data with <CR><LF>.<CR><LF>");
    const r = await c.sendData("Subject: hi\r\n\r\n.leading dot\r\nbody\r\n");
    assert.match(r[0]!, /^250 2\.0\.0 Ok: queued as [0-9A-F]{10,12}$/);
    const stored = await t.waitEvent("smtp.message.stored");
    const raw = t.sensor.reader.getRaw(stored.message as number)!;
    assert.equal(raw.toString(), "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n");
    await c.quit();
  });

  it("answers out-of-sequence and malformed commands as Postfix does", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.expect("DATA", "503 5.5.1 Error: need RCPT command");
    await c.expect("RCPT TO:<a@b.example>", "503 5.5.1 Error: need MAIL command");
    await c.expect("MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>");
    await c.expect("MAIL FROM:<broken", "501 5.1.7 Bad sender address syntax");
    await c.expect("MAIL FROM:<a@b.example> SIZE=99999999999", "552 5.3.4 Message size exceeds fixed limit");
    await c.expect("MAIL FROM:<a@b.example> FOO=bar", "555 5.5.4 Unsupported option: FOO=bar");
    await c.expect("mail from:<a@b.example>", "250 2.1.0 Ok");
    await c.expect("MAIL FROM:<a@b.example>", "503 5.5.1 Error: nested MAIL command");
    await c.expect("DATA", "554 5.5.1 Error: no valid recipients");
    await c.expect("RCPT TO:<nosuchuser@mail.example.org>", "550 5.1.1 <nosuchuser@mail.example.org>: Recipient address rejected: User unknown in local recipient table");
    await c.expect("RCPT TO:<>", "501 5.1.3 Bad recipient address syntax");
    await c.expect("EHLO again", "250 ");
    await c.expect("DATA", "503 5.5.1 Error: need RCPT command");
    await c.expect("RSET", "250 2.0.0 Ok");
    await c.expect("FOO bar", "500 5.5.2 Error: command not recognized");
    await c.expect("", "500 5.5.2 Error: bad syntax");
    await c.expect("HELO", "501 Syntax: HELO hostname");
    await c.expect("EHLO", "501 Syntax: EHLO hostname");
    await c.expect("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", "503 5.5.1 Error: authentication not enabled");
    await c.expect("VRFY root", "252 2.0.0 root");
    await c.expect("VRFY", "501 5.5.4 Syntax: VRFY address");
    await c.expect("NOOP", "250 2.0.0 Ok");
    await c.expect("QUIT", "221 2.0.0 Bye");
    await c.closedPromise;
    const auth = await t.waitEvent("smtp.auth.attempt");
    assert.equal(auth.mechanism, "PLAIN");
    assert.equal(auth.username, "test");
    assert.equal(auth.password, "test");
  });

  it("answers pipelined commands in order, in one go", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    c.write("EHLO p\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<r1@z.example>\r\nRCPT TO:<r2@z.example>\r\nDATA\r\n");
    assert.equal((await c.reply()).at(-1), "250 CHUNKING");
    assert.deepEqual(await c.reply(), ["250 2.1.0 Ok"]);
    assert.deepEqual(await c.reply(), ["250 2.1.5 Ok"]);
    assert.deepEqual(await c.reply(), ["250 2.1.5 Ok"]);
    assert.match((await c.reply())[0]!, /^354 /);
    // Body, end of data, and the next transaction all in one write.
    c.write("Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<r3@z.example>\r\nQUIT\r\n");
    assert.match((await c.reply())[0]!, /^250 2\.0\.0 Ok: queued as /);
    assert.deepEqual(await c.reply(), ["250 2.1.0 Ok"]);
    assert.deepEqual(await c.reply(), ["250 2.1.5 Ok"]);
    assert.deepEqual(await c.reply(), ["221 2.0.0 Bye"]);
    await c.closedPromise;
  });

  it("accepts BDAT chunks", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.expect("EHLO b", "250 ");
    await c.expect("BDAT 5", "503 5.5.1 Error: need RCPT command");
    c.write("xxxxx");
    await c.expect("MAIL FROM:<a@b.example>", "250");
    await c.expect("RCPT TO:<c@d.example>", "250");
    c.write("BDAT 12\r\nSubject: b\r\n");
    assert.deepEqual(await c.reply(), ["250 2.0.0 Ok: 12 bytes"]);
    c.write("BDAT 6 LAST\r\n\r\nbody");
    // Postfix counts the CRLF it appends to a message that does not end with one.
    assert.match((await c.reply())[0]!, /^250 2\.0\.0 Ok: 20 bytes queued as [0-9A-F]+$/);
    const e = await t.waitEvent("smtp.message.stored", (x) => x.subject === "b");
    assert.equal(t.sensor.reader.getRaw(e.message as number)!.toString(), "Subject: b\r\n\r\nbody");
    await c.quit();
  });

  it("keeps bare-LF messages byte for byte and ends DATA on LF.LF", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.startData({ greet: "HELO lf", from: "a@b.example", to: "c@d.example" });
    c.write("Subject: lf\n\nline\x00nul \xe9\n.\n");
    assert.match((await c.reply())[0]!, /^250 2\.0\.0 Ok/);
    const e = await t.waitEvent("smtp.message.stored", (x) => x.subject === "lf");
    assert.deepEqual(t.sensor.reader.getRaw(e.message as number), Buffer.from("Subject: lf\n\nline\x00nul \xe9\n", "latin1"));
    await c.quit();
  });

  it("upgrades with STARTTLS, forgets the pipelined plaintext, and drops STARTTLS from EHLO", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.expect("EHLO tls", "250");
    await c.expect("STARTTLS extra", "501 5.5.4 Syntax: STARTTLS");
    await c.starttls();
    const ehlo = await c.send("EHLO tls");
    assert.ok(!ehlo.includes("250-STARTTLS"));
    await c.expect("STARTTLS", "554 5.5.1 Error: TLS already active");
    await c.startData({ greet: null, from: "a@b.example", to: "c@d.example" });
    assert.match((await c.sendData("Subject: tls\r\n\r\nx"))[0]!, /^250 /);
    const e = await t.waitEvent("smtp.tls.established");
    assert.match(String(e.tls_version), /^TLSv1\.[23]$/);
    await c.quit();
  });

  it("serves implicit TLS (SMTPS)", async () => {
    const c = await SmtpClient.connect(t.tlsPort!, { tls: true });
    assert.deepEqual(await c.reply(), ["220 mail.example.org ESMTP Postfix (Debian/GNU)"]);
    const ehlo = await c.send("EHLO s");
    assert.ok(!ehlo.includes("250-STARTTLS"));
    await c.quit();
  });

  it("closes on HTTP requests as Postfix does", async () => {
    for (const req of ["GET / HTTP/1.1", "POST /x HTTP/1.0", "CONNECT example.com:25 HTTP/1.0"]) {
      const c = await SmtpClient.connect(t.port);
      await c.reply();
      assert.deepEqual(await c.send(req), ["221 2.7.0 Error: I can break rules, too. Goodbye."]);
      await c.closedPromise;
    }
  });

  it("ends the session with 421 at the hard error limit", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    for (let i = 1; i < 20; i++) await c.expect(`BOGUS${i}`, "500 5.5.2");
    assert.deepEqual(await c.send("BOGUS20"), ["500 5.5.2 Error: command not recognized"]);
    assert.deepEqual(await c.reply(), ["421 4.7.0 mail.example.org Error: too many errors"]);
    await c.closedPromise;
  });

  it("cuts over-long command lines and skips the rest of them", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    // 10 MB of one line, written in pieces; memory stays bounded and the reply is one error.
    const piece = Buffer.alloc(1024 * 1024, "A");
    for (let i = 0; i < 10; i++) c.write(piece);
    assert.deepEqual(await c.send(""), ["500 5.5.2 Error: command not recognized"]);
    await c.expect("NOOP", "250");
    await c.quit();
  });

  it("drops a message whose client disconnects mid-DATA, acknowledging nothing", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    await c.startData({ greet: "HELO d", from: "a@b.example", to: "c@d.example" });
    c.write("Subject: half\r\n\r\nnever finished");
    const session = (await t.waitEvent("smtp.session.connect", (e) => e.src_port === c.localPort)).session;
    c.destroy();
    const dropped = await t.waitEvent("smtp.message.dropped", (e) => e.session === session);
    assert.equal(dropped.reason, "client-disconnect");
    assert.ok(!t.events.some((e) => e.eventid === "smtp.message.stored" && e.session === session));
  });

  it("rejects messages over the size limit with 552 and stores nothing", async () => {
    const small = await startSensor({ limits: { maxMessageBytes: 1000 } });
    try {
      const c = await SmtpClient.connect(small.port);
      await c.reply();
      await c.startData({ greet: "EHLO big", from: "a@b.example", to: "c@d.example" });
      assert.deepEqual(await c.sendData("Subject: big\r\n\r\n" + "x".repeat(5000)), ["552 5.3.4 Error: message file too big"]);
      await c.expect("NOOP", "250");
      await c.quit();
      assert.equal(small.sensor.reader.countMessages(), 0);
    } finally {
      await small.close();
    }
  });

  it("refuses more sessions per IP than allowed with the persona's 421", async () => {
    const lim = await startSensor({ limits: { maxSessionsPerIp: 2 } });
    try {
      const a = await SmtpClient.connect(lim.port);
      const b = await SmtpClient.connect(lim.port);
      await a.reply();
      await b.reply();
      const c = await SmtpClient.connect(lim.port);
      assert.deepEqual(await c.reply(), ["421 4.7.0 mail.example.org Error: too many connections from 127.0.0.1"]);
      await c.closedPromise;
      a.destroy();
      b.destroy();
    } finally {
      await lim.close();
    }
  });

  it("times out idle clients with the persona's 421", async () => {
    const idle = await startSensor({ limits: { idleTimeoutMs: 200 } });
    try {
      const c = await SmtpClient.connect(idle.port);
      await c.reply();
      assert.deepEqual(await c.reply(), ["421 4.4.2 mail.example.org Error: timeout exceeded"]);
      await c.closedPromise;
    } finally {
      await idle.close();
    }
  });

  it("counts commands, not bytes, toward the idle timeout: a trickled partial line does not keep a session alive", async () => {
    const idle = await startSensor({ limits: { idleTimeoutMs: 400 } });
    try {
      const c = await SmtpClient.connect(idle.port);
      await c.reply();
      // Whole commands do reset it: five NOOPs over more than the timeout.
      for (let i = 0; i < 5; i++) {
        await c.expect("NOOP", "250");
        await new Promise((r) => setTimeout(r, 120));
      }
      const t0 = Date.now();
      // Bounded: 3 s of drip (a session that outlives it was kept alive by the bytes).
      const drip = setInterval(() => c.socket.writable && Date.now() - t0 < 3000 && c.write("N"), 100);
      try {
        assert.deepEqual(await c.reply(), ["421 4.4.2 mail.example.org Error: timeout exceeded"]);
        await c.closedPromise;
      } finally {
        clearInterval(drip);
      }
      assert.ok(Date.now() - t0 < 1500, `the 421 came after ${Date.now() - t0} ms`);
    } finally {
      await idle.close();
    }
  });

  it("under stress (sessions past the high-water mark) cuts idle time to stressIdleTimeoutMs", async () => {
    const s = await startSensor({ limits: { maxSessions: 10, stressHighWaterPercent: 50, stressIdleTimeoutMs: 300, idleTimeoutMs: 60_000 } });
    try {
      const clients = await Promise.all(Array.from({ length: 5 }, () => SmtpClient.connect(s.port)));
      for (const c of clients) await c.reply();
      const ports = clients.map((c) => c.localPort);
      const t0 = Date.now();
      // Five sessions are the high-water mark: whatever has idled past stressIdleTimeoutMs at a sweep gets the 421,
      // and that ends the stress (a session a few ms younger is back under idleTimeoutMs, as in Postfix).
      // (the port is read before the close: a closed socket has none)
      const first = await Promise.race(clients.map((c, i) => c.reply().then((r) => ({ port: ports[i], r }), () => new Promise<never>(() => {}))));
      assert.deepEqual(first.r, ["421 4.4.2 mail.example.org Error: timeout exceeded"]);
      assert.ok(Date.now() - t0 < 3000, `the first 421 came after ${Date.now() - t0} ms`);
      const closed = await s.waitEvent("smtp.session.closed", (e) => e.src_port === first.port);
      assert.equal(closed.reason, "stress-idle-timeout");
      assert.ok(s.sensor.smtp.activeSessions < 5);
      for (const c of clients) c.destroy();
    } finally {
      await s.close();
    }
  });

  it("when full, a new client evicts the longest-idle session of the most-connected source", async () => {
    const s = await startSensor({ limits: { maxSessions: 4, maxSessionsPerIp: 4, stressHighWaterPercent: 100, stressIdleTimeoutMs: 60_000 } });
    try {
      const open = async (localAddress: string) => {
        const c = await SmtpClient.connect(s.port, { localAddress });
        await c.reply();
        // lastActive has millisecond resolution: keep the connections apart in time.
        await new Promise((r) => setTimeout(r, 5));
        return c;
      };
      const a1 = await open("127.0.0.2");
      const b1 = await open("127.0.0.3");
      const a2 = await open("127.0.0.2");
      const a3 = await open("127.0.0.2");
      await a1.expect("NOOP", "250");
      // b1 is idle longest, but 127.0.0.2 holds the most sessions: its longest idle, a2, makes room.
      const a2Port = a2.localPort;
      const c = await SmtpClient.connect(s.port, { localAddress: "127.0.0.1" });
      assert.match((await c.reply())[0]!, /^220 /);
      assert.deepEqual(await a2.reply(), ["421 4.4.2 mail.example.org Error: timeout exceeded"]);
      await a2.closedPromise;
      for (const x of [a1, b1, a3, c]) await x.expect("NOOP", "250");
      const closed = await s.waitEvent("smtp.session.closed");
      assert.equal(closed.reason, "stress-evicted");
      assert.equal(closed.src_port, a2Port);
      for (const x of [a1, b1, a3, c]) await x.quit();
    } finally {
      await s.close();
    }
  });
});

describe("smtp session with AUTH enabled", () => {
  let t: TestSensor;
  before(async () => {
    t = await startSensor({ auth: { enabled: true, mechanisms: ["PLAIN", "LOGIN", "CRAM-MD5"] } });
  });
  after(() => t.close());

  it("advertises AUTH, records PLAIN/LOGIN/CRAM-MD5 credentials and fails them", async () => {
    const c = await SmtpClient.connect(t.port);
    await c.reply();
    const ehlo = await c.send("EHLO a");
    assert.ok(ehlo.includes("250-AUTH PLAIN LOGIN CRAM-MD5"));
    await c.expect("AUTH PLAIN " + Buffer.from("\0alice\0secret1").toString("base64"), "535 5.7.8 Error: authentication failed");
    await c.expect("AUTH LOGIN", "334 VXNlcm5hbWU6");
    await c.expect(Buffer.from("bob").toString("base64"), "334 UGFzc3dvcmQ6");
    await c.expect(Buffer.from("hunter2").toString("base64"), "535 5.7.8");
    await c.expect("AUTH PLAIN", "334");
    await c.expect("*", "501 5.7.0 Authentication aborted");
    await c.expect("AUTH PLAIN !!!", "535 5.7.8 Error: authentication failed: Invalid base64 data in initial response");
    const cram = await c.expect("AUTH CRAM-MD5", "334 ");
    assert.match(Buffer.from(cram[0]!.slice(4), "base64").toString(), /^<\d+\.\d+@mail\.example\.org>$/);
    await c.expect(Buffer.from("carol 0123456789abcdef").toString("base64"), "535");
    await c.quit();
    const attempts = t.events.filter((e) => e.eventid === "smtp.auth.attempt");
    assert.deepEqual(
      attempts.map((a) => [a.mechanism, a.username, a.password]).slice(0, 2),
      [
        ["PLAIN", "alice", "secret1"],
        ["LOGIN", "bob", "hunter2"],
      ],
    );
    assert.ok(attempts.some((a) => a.mechanism === "CRAM-MD5" && a.username === "carol"));
  });

  it("accepts every login when auth.accept is set", async () => {
    const acc = await startSensor({ auth: { enabled: true, accept: true } });
    try {
      const c = await SmtpClient.connect(acc.port);
      await c.reply();
      await c.expect("EHLO a", "250");
      await c.expect("AUTH PLAIN " + Buffer.from("\0u\0p").toString("base64"), "235 2.7.0 Authentication successful");
      await c.expect("AUTH PLAIN " + Buffer.from("\0u\0p").toString("base64"), "503 5.5.1 Error: already authenticated");
      await c.quit();
    } finally {
      await acc.close();
    }
  });
});
