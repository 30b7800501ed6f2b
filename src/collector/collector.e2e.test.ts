// End to end on a real PostgreSQL (test/helpers/postgres.ts): the collector CLI, two in-process sensors pushing to
// it, the pooled dropbox seen by both, a collector killed (SIGKILL) mid-stream and restarted losing and duplicating
// nothing, and bad tokens refused. Loopback only. Skipped, with the reason, where PostgreSQL is not installed.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/helpers/postgres.js";
import { runCli, startCli, startSensor, type CliProcess, type TestSensor } from "../../test/helpers/sensor.js";

const DROPBOX = "pooled.dropbox@yahoo.example";
const TOKENS = { sensorA: "token-for-sensor-a-0123456789", sensorB: "token-for-sensor-b-0123456789" };
const READ_TOKEN = "read-only-token-0123456789";
const PUSH = { batchSize: 5, intervalMs: 20, retryBaseMs: 20, retryMaxMs: 200, dropboxPullIntervalMs: 3_600_000 };

function relayTest(n: number): string {
  return [
    "From: paulette <paulette@example.net>",
    `To: ${DROPBOX}`,
    "Subject: 127.0.0.1@pauletteOpen Relay",
    `Message-ID: <fleet${n}.${Date.now()}@example.net>`,
    "",
    "127.0.0.1@pauletteOpen Relay",
    "",
  ].join("\r\n");
}

/** A minimal SMTP client that connects from a chosen loopback source address (127.0.0.2, ...) and expects each reply. */
async function sendFrom(port: number, localAddress: string, rcpt: string, body: string): Promise<void> {
  const s = connect({ host: "127.0.0.1", port, localAddress });
  s.setEncoding("latin1");
  let buf = "";
  let wake: (() => void) | null = null;
  s.on("data", (d: string) => {
    buf += d;
    wake?.();
  });
  s.on("error", () => {});
  const reply = async (): Promise<string> => {
    for (;;) {
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buf);
      if (m) {
        buf = "";
        return m[1]!;
      }
      await new Promise<void>((r) => (wake = r));
    }
  };
  const step = async (line: string | null, code: string) => {
    if (line !== null) s.write(line + "\r\n");
    assert.equal(await reply(), code, `${line ?? "greeting"}`);
  };
  await step(null, "220");
  await step("EHLO client.example", "250");
  await step("MAIL FROM:<paulette@example.net>", "250");
  await step(`RCPT TO:<${rcpt}>`, "250");
  await step("DATA", "354");
  await step(body.replace(/\r\n$/, "") + "\r\n.", "250");
  await step("QUIT", "221");
  s.destroy();
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
}

describe("fleet collector on PostgreSQL", { skip: postgresUnavailable() ?? false }, () => {
  let pgc: TestPostgres;
  let dbUrl: string;
  let port: number;
  let collector: CliProcess | null = null;
  let db: pg.Pool;
  const sensors: TestSensor[] = [];
  const base = () => `http://127.0.0.1:${port}`;

  async function startCollector(): Promise<void> {
    collector = startCli(["collector", "--listen", `127.0.0.1:${port}`, "--database-url", dbUrl], {
      env: { RELAYTRAP_COLLECTOR_TOKENS: `sensorA:${TOKENS.sensorA},sensorB:${TOKENS.sensorB}`, RELAYTRAP_COLLECTOR_READ_TOKENS: READ_TOKEN },
    });
    await collector.listening;
  }

  const api = async (path: string, token = READ_TOKEN) => {
    const res = await fetch(base() + path, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    pgc = await startPostgres();
    dbUrl = await pgc.createDatabase("fleet");
    db = new pg.Pool({ connectionString: dbUrl, max: 2 });
    port = await freePort();
    await startCollector();
    for (const name of ["sensorA", "sensorB"] as const) {
      sensors.push(
        await startSensor({ sensorName: name, sensorIps: ["127.0.0.1"], collectorUrl: base(), collectorToken: TOKENS[name], collectorPush: PUSH }),
      );
    }
  });

  after(async () => {
    for (const s of sensors) await s.close();
    collector?.child.kill("SIGKILL");
    if (collector) await collector.exited;
    await db?.end();
    await pgc?.stop();
  });

  it("refuses a missing or wrong token with 401, and a read token cannot push", async () => {
    const batch = JSON.stringify({ version: "x", messages: [], events: [] });
    for (const auth of [undefined, "Bearer wrong-token-0000000000", `Basic ${TOKENS.sensorA}`]) {
      const res = await fetch(base() + "/api/v1/ingest", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(auth ? { Authorization: auth } : {}) },
        body: batch,
      });
      assert.equal(res.status, 401, String(auth));
      assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
    }
    assert.equal((await api("/api/v1/sensors", "wrong-token-0000000000")).status, 401);
    const asReader = await fetch(base() + "/api/v1/ingest", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${READ_TOKEN}` },
      body: batch,
    });
    assert.equal(asReader.status, 403);
    const bad = await fetch(base() + "/api/v1/ingest", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKENS.sensorA}` },
      body: '{"version":"x","messages":[{"id":"nope"}],"events":[]}',
    });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(base() + "/healthz")).status, 200);
  });

  it("a retried batch is stored once", async () => {
    const msg = {
      id: 900_000,
      queueId: "Q1",
      sessionId: "s1",
      receivedAt: Date.now(),
      srcIp: "192.0.2.9",
      srcPort: 1234,
      destIp: "127.0.0.1",
      destPort: 25,
      channel: "direct",
      helo: "x\u0000y",
      mailFrom: null,
      rcptTo: ["a@b.example"],
      subject: "bad \ud800 surrogate",
      size: 10,
      sha256: "0".repeat(64),
      kind: "other",
      verdict: null,
      bodyStored: false,
    };
    const post = () =>
      fetch(base() + "/api/v1/ingest", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKENS.sensorB}` },
        body: JSON.stringify({ version: "test", messages: [msg], events: [{ id: 900_000, event: { eventid: "smtp.session.connect", timestamp: new Date().toISOString() } }] }),
      }).then((r) => r.json() as Promise<Record<string, number>>);
    const first = await post();
    const second = await post();
    assert.equal(first.messages, 1);
    assert.equal(first.events, 1);
    assert.equal(second.messages, 0);
    assert.equal(second.duplicates, 2);
    const n = await db.query("SELECT COUNT(*)::int AS n FROM messages WHERE sensor = 'sensorB' AND id = 900000");
    assert.equal(n.rows[0].n, 1);
    await db.query("DELETE FROM messages WHERE sensor = 'sensorB' AND id = 900000");
    await db.query("DELETE FROM events WHERE sensor = 'sensorB' AND id = 900000");
    await db.query("UPDATE sensors SET messages = messages - 1, events = events - 1 WHERE name = 'sensorB'");
  });

  it("pools a dropbox named by relay tests at both sensors, from both sources", async () => {
    const [a, b] = sensors as [TestSensor, TestSensor];
    await sendFrom(a.port, "127.0.0.2", DROPBOX, relayTest(1));
    await sendFrom(b.port, "127.0.0.3", DROPBOX, relayTest(2));
    await a.waitEvent("smtp.message.stored");
    await b.waitEvent("smtp.message.stored");
    await Promise.all([a.sensor.collector!.flush(), b.sensor.collector!.flush()]);

    const list = await api("/api/v1/dropboxes");
    assert.equal(list.status, 200);
    const items = list.body.items as Array<Record<string, unknown>>;
    const d = items.find((x) => x.address === DROPBOX);
    assert.ok(d, JSON.stringify(items));
    assert.equal(d.kind, "relay-test");
    assert.equal(d.sensors, 2);
    assert.equal(d.sources, 2);
    assert.equal(d.tests, 2);
    assert.ok((d.score as number) >= 70);
    const sources = await api(`/api/v1/dropboxes/${encodeURIComponent(DROPBOX)}/sources`);
    assert.deepEqual(
      (sources.body.items as Array<Record<string, unknown>>).map((x) => `${x.sensor}:${x.srcIp}`).sort(),
      ["sensorA:127.0.0.2", "sensorB:127.0.0.3"],
    );

    const sensorList = (await api("/api/v1/sensors")).body.items as Array<Record<string, unknown>>;
    assert.deepEqual(sensorList.map((s) => s.name), ["sensorA", "sensorB"]);
    for (const s of sensorList) {
      assert.equal(s.messages, 1);
      assert.equal(s.relayTests, 1);
      assert.ok((s.lastSeen as number) > Date.now() - 60_000);
      assert.equal(typeof s.version, "string");
    }
    const onlyA = await api("/api/v1/messages?sensor=sensorA&kind=relay-test");
    assert.equal((onlyA.body.items as unknown[]).length, 1);
    assert.equal((onlyA.body.items as Array<Record<string, unknown>>)[0]!.srcIp, "127.0.0.2");
    const stats = await api("/api/v1/stats/attempts?bucket=day&sensor=sensorB");
    const series = stats.body.series as Array<Record<string, number>>;
    assert.equal(series.reduce((n, x) => n + x.relayTests!, 0), 1);
    assert.ok(series.reduce((n, x) => n + x.sessions!, 0) >= 1);

    // The sensors pull the shared list and use it (classification and dropbox copies).
    await a.sensor.collector!.pullDropboxes();
    assert.ok(a.sensor.collector!.knownDropboxes().has(DROPBOX));
  });

  it("a collector killed mid-stream and restarted loses and duplicates nothing", async () => {
    const a = sensors[0]!;
    const total = 40;
    const killAt = 15;
    for (let i = 0; i < total; i++) {
      if (i === killAt) {
        collector!.child.kill("SIGKILL");
        await collector!.exited;
      }
      // SMTP is never held up by the collector being down.
      await sendFrom(a.port, "127.0.0.4", DROPBOX, relayTest(100 + i));
    }
    await a.waitEvent("smtp.message.stored", (e) => e.message === a.sensor.reader.countMessages());
    assert.ok(a.sensor.collector!.stats.failures > 0, "pushes failed while the collector was down");
    await startCollector();
    await a.sensor.collector!.flush();

    const stored = a.sensor.reader.countMessages();
    const m = await db.query("SELECT COUNT(*)::int AS n, COUNT(DISTINCT id)::int AS d, MIN(id)::int AS lo, MAX(id)::int AS hi FROM messages WHERE sensor = 'sensorA'");
    assert.deepEqual(m.rows[0], { n: stored, d: stored, lo: 1, hi: stored });
    const ev = await db.query("SELECT COUNT(*)::int AS n FROM events WHERE sensor = 'sensorA' AND eventid = 'smtp.message.stored'");
    assert.equal(ev.rows[0].n, stored);
    const perMessage = await db.query(
      "SELECT data->>'message' AS m, COUNT(*)::int AS n FROM events WHERE sensor = 'sensorA' AND eventid = 'smtp.message.stored' GROUP BY 1 HAVING COUNT(*) > 1",
    );
    assert.deepEqual(perMessage.rows, []);
    const sensor = (await api("/api/v1/sensors")).body.items as Array<Record<string, unknown>>;
    assert.equal(sensor.find((s) => s.name === "sensorA")!.messages, stored);
    assert.equal(a.sensor.collector!.stats.droppedEvents, 0);
  });

  describe("one sensor cannot poison the shared dropbox list (issues 14.9, 15.5)", () => {
    const FAKE = "ceo@real-company.example";
    let nextId = 700_000;
    /** Relay-test summaries as a sensor pushes them, each from its own invented source. */
    const push = async (token: string, n: number, address: string, confidence?: string) => {
      const messages = Array.from({ length: n }, (_, i) => ({
        id: nextId++,
        queueId: `P${nextId}`,
        sessionId: `p${nextId}`,
        receivedAt: Date.now(),
        srcIp: `203.0.113.${(i % 250) + 1}`,
        srcPort: 40000 + i,
        destIp: "127.0.0.1",
        destPort: 25,
        channel: "direct",
        helo: "tester",
        mailFrom: "x@example.net",
        rcptTo: [address],
        subject: "127.0.0.1 relay test",
        size: 100,
        sha256: "1".repeat(64),
        kind: "relay-test",
        verdict: { kind: "relay-test", testedIps: ["127.0.0.1"], matchesSensor: true, dropboxes: [address], score: 100, ...(confidence ? { confidence } : {}) },
        bodyStored: false,
      }));
      const res = await fetch(base() + "/api/v1/ingest", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ version: "test", messages, events: [] }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const entry = async (address: string, token = READ_TOKEN) => {
      const r = await api("/api/v1/dropboxes?limit=100000", token);
      assert.equal(r.status, 200);
      return (r.body.items as Array<Record<string, unknown>>).find((d) => d.address === address);
    };
    const cli = (args: string[]) => runCli([...args, "--database-url", dbUrl]);

    it("40 fabricated tests from 40 sources at one sensor do not make an address known", async () => {
      assert.equal((await push(TOKENS.sensorA, 40, FAKE)).status, 200);
      const d = await entry(FAKE);
      assert.ok(d, "listed for the operator");
      assert.equal(d.sensors, 1);
      assert.equal(d.known, false);
      assert.ok((d.score as number) < 50, `score ${String(d.score)} reaches the sensors' default dropboxMinScore`);
      // Sensors pull only known dropboxes, whatever min_score they ask for.
      assert.equal(await entry(FAKE, TOKENS.sensorB), undefined);
      const a = sensors[0]!;
      await a.sensor.collector!.pullDropboxes();
      assert.equal(a.sensor.collector!.knownDropboxes().has(FAKE), false);
    });

    it("a second sensor's tests count only when certain; then the address is known", async () => {
      assert.equal((await push(TOKENS.sensorB, 1, FAKE, "possible")).status, 200);
      assert.equal((await entry(FAKE))!.known, false, "a 'possible' test is not a sighting");
      assert.equal((await push(TOKENS.sensorB, 1, FAKE, "certain")).status, 200);
      const d = (await entry(FAKE))!;
      assert.equal(d.sensors, 2);
      assert.equal(d.known, true);
      assert.ok((d.score as number) >= 50);
      assert.ok(await entry(FAKE, TOKENS.sensorB));
      const bad = await push(TOKENS.sensorB, 1, FAKE, "sure");
      assert.equal(bad.status, 400);
    });

    it("revoking a sensor drops its contributions and refuses its pushes", async () => {
      const r = await cli(["collector-token", "revoke", "sensorA"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /sensorA revoked/);
      const d = (await entry(FAKE))!;
      assert.equal(d.sensors, 1);
      assert.equal(d.known, false);
      assert.equal(await entry(FAKE, TOKENS.sensorB), undefined);
      const refused = await push(TOKENS.sensorA, 1, FAKE);
      assert.equal(refused.status, 403);
      const unknown = await cli(["collector-token", "revoke", "nosuchsensor"]);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^relaytrap: collector-token revoke: no sensor "nosuchsensor" has pushed to this collector\n$/);
    });

    it("an operator can confirm a dropbox (and take it back)", async () => {
      const OTHER = "confirmed.dropbox@example.org";
      const r = await cli(["collector-dropbox", "confirm", OTHER]);
      assert.equal(r.code, 0, r.stderr);
      let d = (await entry(OTHER))!;
      assert.equal(d.confirmed, true);
      assert.equal(d.known, true);
      assert.ok(await entry(OTHER, TOKENS.sensorB));
      assert.equal((await cli(["collector-dropbox", "unconfirm", OTHER])).code, 0);
      assert.equal(await entry(OTHER), undefined);
      // Confirming the one-sensor address makes it known again.
      assert.equal((await cli(["collector-dropbox", "confirm", FAKE])).code, 0);
      d = (await entry(FAKE))!;
      assert.equal(d.known, true);
      assert.equal(d.score, 100);
    });
  });
});
