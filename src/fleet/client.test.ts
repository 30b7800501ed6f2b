// The push client against a loopback HTTP server that captures what it is sent: the stored messages' verdicts go out
// with their confidence (the collector counts only certain relay tests towards a pooled dropbox).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { validateConfig } from "../config/load.js";
import { createIngest, IN_THREAD } from "../ingest.js";
import { openSqliteReader } from "../store/sqlite/reader.js";
import { openSqliteWriter } from "../store/sqlite/writer.js";
import { tempDir } from "../../test/helpers/sensor.js";
import { createCollectorClient } from "./client.js";
import { INGEST_PATH, type IngestBatch } from "./protocol.js";

const SENSOR_IP = "198.51.100.23";

const body = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });

test("each pushed message carries its verdict's confidence (messages[].verdict.confidence and messages[].confidence)", async () => {
  const pushes: Array<{ auth: string | undefined; batch: IngestBatch }> = [];
  const server = createServer((req, res) => {
    void body(req).then((text) => {
      if (req.method === "POST" && req.url === INGEST_PATH) pushes.push({ auth: req.headers.authorization, batch: JSON.parse(text) as IngestBatch });
      res.writeHead(200, { "Content-Type": "application/json" }).end(req.url?.startsWith(INGEST_PATH) ? '{"messages":0,"events":0,"duplicates":0}' : '{"items":[]}');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const dataDir = tempDir();
  const writer = await openSqliteWriter(dataDir);
  const reader = openSqliteReader(dataDir);
  const client = createCollectorClient({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    token: "s3cret",
    config: validateConfig({ dataDir }).collectorPush,
    reader,
    writer,
    log: () => {},
    version: "test",
  });
  try {
    const ingest = createIngest({ analysis: IN_THREAD, writer, sensorIps: [SENSOR_IP], sensorNames: [], log: () => {} });
    const base = { sessionId: "s1", receivedAt: Date.now(), srcIp: "192.0.2.7", srcPort: 0, destIp: "127.0.0.1", destPort: 25, channel: "direct", helo: "x" };
    const relay = await ingest({
      ...base,
      raw: Buffer.from(`From: t@tester.example\r\nTo: checker@dropbox.example\r\nSubject: Relay test ${SENSOR_IP}\r\n\r\n${SENSOR_IP}\r\n`),
      mailFrom: "t@tester.example",
      rcptTo: ["checker@dropbox.example"],
    });
    const spam = await ingest({ ...base, raw: Buffer.from("Subject: cheap watches\r\n\r\nbuy now\r\n"), mailFrom: "promo@bulk.example", rcptTo: ["anna@example.com"] });
    assert.ok(relay.ok && spam.ok);
    client.start();
    await client.flush();
    const sent = pushes.flatMap((p) => p.batch.messages);
    assert.equal(pushes[0]?.auth, "Bearer s3cret");
    const r = sent.find((m) => m.id === relay.id);
    assert.equal(r?.kind, "relay-test");
    assert.equal(r?.verdict?.confidence, "certain");
    assert.equal(r?.confidence, "certain");
    const s = sent.find((m) => m.id === spam.id);
    assert.equal(s?.kind, "spam");
    assert.ok(s?.verdict && "confidence" in s.verdict, "a spam verdict says so too (null), rather than leaving it out");
    assert.equal(s?.verdict?.confidence, null);
  } finally {
    await client.close();
    await new Promise<void>((r) => server.close(() => r()));
    reader.close();
    await writer.close();
  }
});
