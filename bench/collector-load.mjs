// Load generator for the fleet collector (docs/scaling.md): a throw-away PostgreSQL cluster, an in-process collector,
// and S simulated sensors pushing batches of B message summaries + B events as fast as the collector acknowledges.
// Prints items/s ingested and push latency percentiles. Usage (after npm run build):
//   node bench/collector-load.mjs [--sensors 20] [--batch 200] [--seconds 20]
import { parseArgs } from "node:util";
import { createHash } from "node:crypto";
import { startPostgres } from "../dist/test/helpers/postgres.js";
import { validateConfig } from "../dist/src/config/load.js";
import { createCollector } from "../dist/src/collector/server.js";

const { values } = parseArgs({ options: { sensors: { type: "string" }, batch: { type: "string" }, seconds: { type: "string" } } });
const SENSORS = Number(values.sensors ?? 20);
const BATCH = Number(values.batch ?? 200);
const SECONDS = Number(values.seconds ?? 20);

const pg = await startPostgres({ fsync: true });
const url = await pg.createDatabase("load");
const tokens = Array.from({ length: SENSORS }, (_, i) => `s${i}:token-of-sensor-${i}-xxxxxxxx`);
const config = validateConfig({ collector: { databaseUrl: url, tokens, listen: "127.0.0.1:0" } });
const collector = await createCollector({ config, log: () => {} });
const { port } = await collector.listen();
const base = `http://127.0.0.1:${port}`;

const DROPBOXES = Array.from({ length: 500 }, (_, i) => `box${i}@mail${i % 37}.example`);
function batch(sensor, start) {
  const messages = [];
  const events = [];
  for (let i = 0; i < BATCH; i++) {
    const id = start + i;
    const relay = id % 10 === 0;
    const src = `198.51.${(id * 7) % 256}.${(id * 13 + sensor) % 256}`;
    messages.push({
      id, queueId: `Q${id}`, sessionId: `s${sensor}-${id}`, receivedAt: Date.now(), srcIp: src, srcPort: 40000 + (id % 20000),
      destIp: "203.0.113.1", destPort: 25, channel: "direct", helo: "spam.example", mailFrom: `x${id}@spam.example`,
      rcptTo: relay ? [DROPBOXES[id % DROPBOXES.length]] : Array.from({ length: 5 }, (_, k) => `user${(id * 5 + k) % 100000}@victim.example`),
      subject: relay ? "203.0.113.1 relay test" : `offer ${id}`, size: 2000, sha256: createHash("sha256").update(`${sensor}:${id}`).digest("hex"),
      kind: relay ? "relay-test" : "spam",
      verdict: { kind: relay ? "relay-test" : "spam", testedIps: relay ? ["203.0.113.1"] : [], matchesSensor: relay, dropboxes: relay ? [DROPBOXES[id % DROPBOXES.length]] : [], score: relay ? 100 : 0 },
      bodyStored: true,
    });
    events.push({ id, event: { eventid: "smtp.message.stored", timestamp: new Date().toISOString(), session: `s${sensor}-${id}`, protocol: "smtp", src_ip: src, message: id } });
  }
  return JSON.stringify({ version: "bench", messages, events });
}

const latencies = [];
let items = 0;
const deadline = Date.now() + SECONDS * 1000;
const t0 = Date.now();
await Promise.all(
  tokens.map(async (t, sensor) => {
    const token = t.slice(t.indexOf(":") + 1);
    let next = 1;
    while (Date.now() < deadline) {
      const body = batch(sensor, next);
      const s = performance.now();
      const res = await fetch(`${base}/api/v1/ingest`, { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" }, body });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      latencies.push(performance.now() - s);
      items += 2 * BATCH;
      next += BATCH;
    }
  }),
);
const elapsed = (Date.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
const q0 = performance.now();
const r = await fetch(`${base}/api/v1/dropboxes?limit=1000`, { headers: { Authorization: `Bearer ${tokens[0].slice(tokens[0].indexOf(":") + 1)}` } });
const list = await r.json();
const dropboxMs = (performance.now() - q0).toFixed(0);
const size = await collector.pool.query("SELECT pg_size_pretty(pg_database_size(current_database())) AS s, (SELECT COUNT(*) FROM messages) AS m");
console.log(JSON.stringify({
  sensors: SENSORS, batch: BATCH, seconds: elapsed, pushes: latencies.length,
  itemsPerSecond: Math.round(items / elapsed), messagesPerSecond: Math.round(items / 2 / elapsed),
  pushLatencyMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: latencies[latencies.length - 1].toFixed(1) },
  dropboxListMs: Number(dropboxMs), dropboxes: list.items.length, messagesStored: Number(size.rows[0].m), databaseSize: size.rows[0].s,
}, null, 2));
await collector.close();
await pg.stop();
