// The collector's SQL: idempotent ingestion of sensor batches, and the fleet-wide read queries behind its /api/v1
// (message list, attempt stats, the pooled dropbox list, sensors). Callers get plain typed rows.
import type { FleetDropbox, FleetMessage, IngestBatch, IngestResult } from "../../fleet/protocol.js";
import type { MessageSummary, StoredKind } from "../types.js";
import type { PgPool } from "./db.js";
import { fillBuckets, type Bucket } from "../buckets.js";

export { MAX_BUCKETS, type Bucket } from "../buckets.js";

/** Addresses of one message recorded for pooling (a spam run to 10,000 recipients counts its first ones). */
export const MAX_ADDRESSES_PER_MESSAGE = 100;
export const MAX_FLEET_LIMIT = 500;

const MESSAGE_COLUMNS =
  "id bigint, queue_id text, session_id text, received_at bigint, src_ip text, src_port integer, dest_ip text, dest_port integer, " +
  "channel text, helo text, mail_from text, rcpt_to jsonb, rcpt_count integer, subject text, size integer, sha256 text, kind text, " +
  "verdict jsonb, body_stored boolean, raw text";

function messageRecord(m: FleetMessage): Record<string, unknown> {
  return {
    id: m.id,
    queue_id: m.queueId,
    session_id: m.sessionId,
    received_at: m.receivedAt,
    src_ip: m.srcIp,
    src_port: m.srcPort,
    dest_ip: m.destIp,
    dest_port: m.destPort,
    channel: m.channel,
    helo: m.helo,
    mail_from: m.mailFrom,
    rcpt_to: m.rcptTo,
    rcpt_count: m.rcptTo.length,
    subject: m.subject,
    size: m.size,
    sha256: m.sha256,
    kind: m.kind,
    verdict: m.verdict,
    body_stored: m.bodyStored,
    raw: m.raw ?? null,
  };
}

type AddressRow = { role: "d" | "r"; address: string; tester: string | null; confidence: string | null };

/** The addresses a message contributes to the pooled statistics. */
export function messageAddresses(m: FleetMessage): AddressRow[] {
  const out = new Map<string, AddressRow>();
  if (m.kind === "relay-test" && m.verdict) {
    for (const d of m.verdict.dropboxes.slice(0, MAX_ADDRESSES_PER_MESSAGE)) {
      const address = d.toLowerCase();
      out.set(`d${address}`, { role: "d", address, tester: m.verdict.tester ?? null, confidence: m.verdict.confidence ?? null });
    }
  }
  if (m.kind === "spam") {
    for (const r of m.rcptTo.slice(0, MAX_ADDRESSES_PER_MESSAGE)) {
      const address = r.toLowerCase();
      out.set(`r${address}`, { role: "r", address, tester: null, confidence: null });
    }
  }
  return [...out.values()];
}

/** A revoked sensor's pushes are refused (403) and its sightings no longer count. */
export async function sensorRevoked(pool: PgPool, sensor: string): Promise<boolean> {
  const r = await pool.query<{ revoked_at: number | null }>("SELECT revoked_at FROM sensors WHERE name = $1", [sensor]);
  return r.rows[0]?.revoked_at != null;
}

/** `relaytrap collector-token revoke NAME`: false when no such sensor ever pushed. */
export async function revokeSensor(pool: PgPool, sensor: string, now = Date.now()): Promise<boolean> {
  const r = await pool.query("UPDATE sensors SET revoked_at = COALESCE(revoked_at, $2) WHERE name = $1", [sensor, now]);
  return (r.rowCount ?? 0) > 0;
}

/** `relaytrap collector-dropbox confirm|unconfirm ADDRESS`. */
export async function setDropboxConfirmed(pool: PgPool, address: string, confirmed: boolean, note: string | null = null, now = Date.now()): Promise<boolean> {
  const a = address.toLowerCase();
  const r = confirmed
    ? await pool.query(
        "INSERT INTO dropbox_confirmations (address, confirmed_at, note) VALUES ($1, $2, $3) ON CONFLICT (address) DO UPDATE SET note = COALESCE(EXCLUDED.note, dropbox_confirmations.note)",
        [a, now, note],
      )
    : await pool.query("DELETE FROM dropbox_confirmations WHERE address = $1", [a]);
  return (r.rowCount ?? 0) > 0;
}

/** Stores one batch in one transaction; rows already stored (a retried batch) are skipped, never duplicated. */
export async function ingestBatch(pool: PgPool, sensor: string, peer: string | null, batch: IngestBatch, now = Date.now()): Promise<IngestResult> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      `INSERT INTO sensors (name, first_seen, last_seen, version, last_ip, pushes) VALUES ($1, $2, $2, $3, $4, 1)
       ON CONFLICT (name) DO UPDATE SET last_seen = GREATEST(sensors.last_seen, EXCLUDED.last_seen), version = EXCLUDED.version,
         last_ip = EXCLUDED.last_ip, pushes = sensors.pushes + 1`,
      [sensor, now, batch.version, peer],
    );
    let newMessages = 0;
    if (batch.messages.length) {
      const inserted = await client.query<{ id: number }>(
        `INSERT INTO messages (sensor, id, queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, channel, helo,
           mail_from, rcpt_to, rcpt_count, subject, size, sha256, kind, verdict, body_stored, raw, ingested_at)
         SELECT $1, id, queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, channel, helo, mail_from, rcpt_to,
           rcpt_count, subject, size, sha256, kind, verdict, body_stored, decode(raw, 'base64'), $3
         FROM jsonb_to_recordset($2::jsonb) AS x(${MESSAGE_COLUMNS})
         ORDER BY id
         ON CONFLICT (sensor, id) DO NOTHING RETURNING id`,
        [sensor, JSON.stringify(batch.messages.map(messageRecord)), now],
      );
      newMessages = inserted.rowCount ?? 0;
      const fresh = new Set(inserted.rows.map((r) => r.id));
      const addresses = batch.messages
        .filter((m) => fresh.has(m.id))
        .flatMap((m) => messageAddresses(m).map((a) => ({ message_id: m.id, ...a, src_ip: m.srcIp, received_at: m.receivedAt })));
      if (addresses.length) {
        await client.query(
          `INSERT INTO message_addresses (sensor, message_id, role, address, src_ip, received_at, tester, confidence)
           SELECT $1, message_id, role, address, src_ip, received_at, tester, confidence
           FROM jsonb_to_recordset($2::jsonb) AS x(message_id bigint, role text, address text, src_ip text, received_at bigint, tester text, confidence text)
           ON CONFLICT DO NOTHING`,
          [sensor, JSON.stringify(addresses)],
        );
      }
    }
    let newEvents = 0;
    if (batch.events.length) {
      const rows = batch.events.map((e) => {
        const t = Date.parse(e.event.timestamp);
        return {
          id: e.id,
          eventid: e.event.eventid,
          at: Number.isNaN(t) ? now : t,
          session: typeof e.event.session === "string" ? e.event.session : null,
          protocol: typeof e.event.protocol === "string" ? e.event.protocol : null,
          src_ip: typeof e.event.src_ip === "string" ? e.event.src_ip : null,
          data: e.event,
        };
      });
      const r = await client.query(
        `INSERT INTO events (sensor, id, eventid, at, session, protocol, src_ip, data)
         SELECT $1, id, eventid, at, session, protocol, src_ip, data
         FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, eventid text, at bigint, session text, protocol text, src_ip text, data jsonb)
         ORDER BY id
         ON CONFLICT (sensor, id) DO NOTHING`,
        [sensor, JSON.stringify(rows)],
      );
      newEvents = r.rowCount ?? 0;
    }
    if (newMessages || newEvents) {
      await client.query("UPDATE sensors SET messages = messages + $2, events = events + $3 WHERE name = $1", [sensor, newMessages, newEvents]);
    }
    await client.query("COMMIT");
    return { messages: newMessages, events: newEvents, duplicates: batch.messages.length + batch.events.length - newMessages - newEvents };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

// ---------- reads

/** A list row of the fleet: a sensor's message summary, with a fleet-wide id. */
export interface FleetMessageSummary extends Omit<MessageSummary, "channel"> {
  /** Fleet-wide id (cursor); sensorMessageId is the id on the sensor. */
  id: number;
  sensor: string;
  sensorMessageId: number;
}

export interface FleetMessageFilter {
  sensor?: string | undefined;
  kind?: StoredKind | undefined;
  srcIp?: string | undefined;
  dropbox?: string | undefined;
  q?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  before?: number | undefined;
  limit: number;
}

export async function listFleetMessages(pool: PgPool, f: FleetMessageFilter): Promise<FleetMessageSummary[]> {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown) => {
    params.push(v);
    clauses.push(sql.replace("?", `$${params.length}`));
  };
  if (f.sensor !== undefined) add("sensor = ?", f.sensor);
  if (f.kind !== undefined) add("kind = ?", f.kind);
  if (f.srcIp !== undefined) add("src_ip = ?", f.srcIp);
  if (f.since !== undefined) add("received_at >= ?", f.since);
  if (f.until !== undefined) add("received_at < ?", f.until);
  if (f.before !== undefined) add("seq < ?", f.before);
  if (f.dropbox !== undefined) {
    add("EXISTS (SELECT 1 FROM message_addresses a WHERE a.sensor = messages.sensor AND a.message_id = messages.id AND a.role = 'd' AND a.address = ?)", f.dropbox.toLowerCase());
  }
  if (f.q !== undefined && f.q.trim() !== "") {
    const like = "%" + f.q.trim().replace(/[\\%_]/g, (c) => "\\" + c) + "%";
    params.push(like);
    const n = params.length;
    clauses.push(`(subject ILIKE $${n} OR mail_from ILIKE $${n} OR rcpt_to::text ILIKE $${n})`);
  }
  params.push(Math.min(Math.max(1, f.limit), MAX_FLEET_LIMIT));
  const where = clauses.length ? "WHERE " + clauses.join(" AND ") : "";
  const r = await pool.query(
    `SELECT seq, sensor, id, received_at, src_ip, mail_from, rcpt_to, subject, kind, size, session_id, body_stored
     FROM messages ${where} ORDER BY seq DESC LIMIT $${params.length}`,
    params,
  );
  return r.rows.map((x: Record<string, unknown>) => ({
    id: x.seq as number,
    sensor: x.sensor as string,
    sensorMessageId: x.id as number,
    receivedAt: x.received_at as number,
    srcIp: x.src_ip as string,
    mailFrom: (x.mail_from as string | null) ?? null,
    rcptTo: Array.isArray(x.rcpt_to) ? (x.rcpt_to as unknown[]).map(String) : [],
    subject: (x.subject as string | null) ?? null,
    kind: x.kind as StoredKind,
    size: x.size as number,
    sessionId: x.session_id as string,
    bodyStored: x.body_stored === true,
  }));
}

export async function getFleetMessage(pool: PgPool, seq: number): Promise<Record<string, unknown> | null> {
  const r = await pool.query(
    `SELECT seq AS id, sensor, id AS "sensorMessageId", queue_id AS "queueId", session_id AS "sessionId", received_at AS "receivedAt",
       src_ip AS "srcIp", src_port AS "srcPort", dest_ip AS "destIp", dest_port AS "destPort", channel, helo, mail_from AS "mailFrom",
       rcpt_to AS "rcptTo", subject, size, sha256, kind, verdict, body_stored AS "bodyStored"
     FROM messages WHERE seq = $1`,
    [seq],
  );
  return (r.rows[0] as Record<string, unknown> | undefined) ?? null;
}

export interface AttemptBucket {
  start: string;
  sessions: number;
  messages: number;
  relayTests: number;
}

/** Sessions (smtp.session.connect events), messages and relay tests per UTC day / ISO week / month across the fleet. */
export async function fleetAttemptStats(pool: PgPool, bucket: Bucket, since: number, until: number, sensor?: string): Promise<AttemptBucket[]> {
  const trunc = (col: string) => `(extract(epoch FROM date_trunc('${bucket}', to_timestamp(${col} / 1000.0) AT TIME ZONE 'UTC')) * 1000)::bigint`;
  const sensorClause = sensor !== undefined ? "AND sensor = $3" : "";
  const params: unknown[] = [since, until];
  if (sensor !== undefined) params.push(sensor);
  const r = await pool.query<{ start: number; sessions: number; messages: number; relay_tests: number }>(
    `SELECT start, SUM(s)::bigint AS sessions, SUM(m)::bigint AS messages, SUM(t)::bigint AS relay_tests FROM (
       SELECT ${trunc("at")} AS start, COUNT(*) AS s, 0 AS m, 0 AS t FROM events
         WHERE eventid = 'smtp.session.connect' AND at >= $1 AND at < $2 ${sensorClause} GROUP BY 1
       UNION ALL
       SELECT ${trunc("received_at")}, 0, COUNT(*), COUNT(*) FILTER (WHERE kind = 'relay-test') FROM messages
         WHERE received_at >= $1 AND received_at < $2 ${sensorClause} GROUP BY 1
     ) x GROUP BY start ORDER BY start`,
    params,
  );
  return fillBuckets(
    r.rows.map((x): [string, (typeof r.rows)[number]] => [new Date(Number(x.start)).toISOString().slice(0, 10), x]),
    bucket,
    until,
    (start, row) => ({ start, sessions: Number(row?.sessions ?? 0), messages: Number(row?.messages ?? 0), relayTests: Number(row?.relay_tests ?? 0) }),
  );
}

export interface PoolingRule {
  /** Only sightings since this time count (ms). */
  since: number;
  /** A spam recipient becomes a 'recurring' dropbox with this many messages from this many distinct sources. */
  minMessages: number;
  minSources: number;
  /** Distinct (not revoked) sensors a dropbox needs to be known without an operator's confirmation. */
  minSensors: number;
}

/** Distinct sources one sensor adds to a dropbox's score at most: one token inventing 40 sources counts as this many. */
export const MAX_SOURCES_PER_SENSOR = 2;
/** Highest score of a dropbox that is not known (too few sensors, not confirmed): below the sensors' default
 * collectorPush.dropboxMinScore (50). */
export const UNKNOWN_MAX_SCORE = 40;

/** Dropbox score. Sources count at most MAX_SOURCES_PER_SENSOR per sensor (`sources` here is that capped sum);
 * relay-test dropboxes start at 50 and gain with sources and sensors, recurring ones less; confirmed is 100, and a
 * dropbox that is not known stays at UNKNOWN_MAX_SCORE at most. */
export function dropboxScore(d: Pick<FleetDropbox, "kind" | "sources" | "sensors" | "known" | "confirmed">): number {
  if (d.confirmed) return 100;
  const score =
    d.kind === "relay-test"
      ? Math.min(100, 50 + 10 * Math.min(Math.max(d.sources - 1, 0), 3) + 10 * Math.min(Math.max(d.sensors - 1, 0), 2))
      : Math.min(80, 10 * Math.min(d.sources, 5) + 10 * Math.min(Math.max(d.sensors - 1, 0), 3));
  return d.known ? score : Math.min(score, UNKNOWN_MAX_SCORE);
}

/** The shared dropbox list pooled from every sensor's sightings, best score first. Each sensor's sightings are grouped
 * first, so one sensor counts once however many sources it reports; revoked sensors and relay tests whose sensor was
 * not certain of them do not count. */
export async function listFleetDropboxes(pool: PgPool, rule: PoolingRule, limit: number, minScore = 0, onlyKnown = false): Promise<FleetDropbox[]> {
  const counted = "JOIN sensors s ON s.name = a.sensor AND s.revoked_at IS NULL WHERE a.received_at >= $1 AND (a.role = 'r' OR a.confidence IS NULL OR a.confidence = 'certain')";
  const pooled = (kind: string) =>
    `SELECT p.address, '${kind}' AS kind, SUM(p.tests) AS tests, SUM(LEAST(p.sources, ${MAX_SOURCES_PER_SENSOR})) AS capped_sources,
       MAX(f.sources) AS sources, COUNT(*) AS sensors, MIN(p.first_seen) AS first_seen, MAX(p.last_seen) AS last_seen, MAX(p.tester) AS tester
     FROM per_sensor p JOIN fleet f ON f.role = p.role AND f.address = p.address`;
  const r = await pool.query<Record<string, unknown>>(
    `WITH per_sensor AS (
       SELECT a.role, a.address, a.sensor, COUNT(*) AS tests, COUNT(DISTINCT a.src_ip) AS sources, MIN(a.received_at) AS first_seen,
         MAX(a.received_at) AS last_seen, MAX(a.tester) AS tester
       FROM message_addresses a ${counted} GROUP BY a.role, a.address, a.sensor
     ), fleet AS (
       SELECT a.role, a.address, COUNT(DISTINCT a.src_ip) AS sources FROM message_addresses a ${counted} GROUP BY a.role, a.address
     ),
     d AS (${pooled("relay-test")} WHERE p.role = 'd' GROUP BY p.address),
     r AS (${pooled("recurring")} WHERE p.role = 'r' GROUP BY p.address HAVING SUM(p.tests) >= $2 AND MAX(f.sources) >= $3),
     c AS (SELECT address, 'relay-test' AS kind, 0 AS tests, 0 AS capped_sources, 0 AS sources, 0 AS sensors, confirmed_at AS first_seen,
       confirmed_at AS last_seen, NULL AS tester FROM dropbox_confirmations),
     x AS (
       SELECT * FROM d
       UNION ALL SELECT * FROM r WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.address = r.address)
       UNION ALL SELECT * FROM c WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.address = c.address) AND NOT EXISTS (SELECT 1 FROM r WHERE r.address = c.address)
     )
     SELECT x.*, k.address IS NOT NULL AS confirmed FROM x LEFT JOIN dropbox_confirmations k ON k.address = x.address`,
    [rule.since, rule.minMessages, rule.minSources],
  );
  const items: FleetDropbox[] = r.rows.map((x) => {
    const confirmed = x.confirmed === true;
    const sensors = Number(x.sensors);
    const base = {
      address: x.address as string,
      kind: x.kind as FleetDropbox["kind"],
      tests: Number(x.tests),
      sources: Number(x.sources),
      sensors,
      firstSeen: Number(x.first_seen),
      lastSeen: Number(x.last_seen),
      tester: (x.tester as string | null) ?? null,
      known: confirmed || sensors >= rule.minSensors,
      confirmed,
    };
    return { ...base, score: dropboxScore({ ...base, sources: Number(x.capped_sources) }) };
  });
  return items
    .filter((d) => d.score >= minScore && (!onlyKnown || d.known))
    .sort((a, b) => b.score - a.score || b.tests - a.tests || b.lastSeen - a.lastSeen || (a.address < b.address ? -1 : 1))
    .slice(0, Math.min(Math.max(1, limit), 100_000));
}

/** The sources (client IPs) that named a dropbox, with the sensors that saw them. */
export async function dropboxSources(pool: PgPool, address: string): Promise<Array<{ srcIp: string; sensor: string; tests: number }>> {
  const r = await pool.query<{ src_ip: string; sensor: string; tests: number }>(
    "SELECT src_ip, sensor, COUNT(*)::bigint AS tests FROM message_addresses WHERE role = 'd' AND address = $1 GROUP BY src_ip, sensor ORDER BY src_ip, sensor",
    [address.toLowerCase()],
  );
  return r.rows.map((x) => ({ srcIp: x.src_ip, sensor: x.sensor, tests: Number(x.tests) }));
}

export interface SensorSummary {
  name: string;
  firstSeen: number;
  lastSeen: number;
  version: string | null;
  pushes: number;
  messages: number;
  events: number;
  relayTests: number;
}

export async function listSensors(pool: PgPool): Promise<SensorSummary[]> {
  const r = await pool.query<Record<string, unknown>>(
    `SELECT s.name, s.first_seen, s.last_seen, s.version, s.pushes, s.messages, s.events,
       (SELECT COUNT(*) FROM messages m WHERE m.sensor = s.name AND m.kind = 'relay-test') AS relay_tests
     FROM sensors s ORDER BY s.name`,
  );
  return r.rows.map((x) => ({
    name: x.name as string,
    firstSeen: Number(x.first_seen),
    lastSeen: Number(x.last_seen),
    version: (x.version as string | null) ?? null,
    pushes: Number(x.pushes),
    messages: Number(x.messages),
    events: Number(x.events),
    relayTests: Number(x.relay_tests),
  }));
}

export interface FleetTotals {
  sensors: number;
  messages: number;
  relayTests: number;
  spam: number;
  sources: number;
  events: number;
}

export async function fleetTotals(pool: PgPool, since = 0): Promise<FleetTotals> {
  const m = await pool.query<Record<string, unknown>>(
    `SELECT COUNT(*) AS messages, COUNT(*) FILTER (WHERE kind = 'relay-test') AS relay_tests, COUNT(*) FILTER (WHERE kind = 'spam') AS spam,
       COUNT(DISTINCT src_ip) AS sources FROM messages WHERE received_at >= $1`,
    [since],
  );
  const e = await pool.query<Record<string, unknown>>("SELECT COUNT(*) AS n FROM events WHERE at >= $1", [since]);
  const s = await pool.query<Record<string, unknown>>("SELECT COUNT(*) AS n FROM sensors");
  const row = m.rows[0] ?? {};
  return {
    sensors: Number(s.rows[0]?.n ?? 0),
    messages: Number(row.messages ?? 0),
    relayTests: Number(row.relay_tests ?? 0),
    spam: Number(row.spam ?? 0),
    sources: Number(row.sources ?? 0),
    events: Number(e.rows[0]?.n ?? 0),
  };
}

/** Relay-test messages (for feeds and reports from the collector), oldest first. */
export async function fleetRelayTests(pool: PgPool, since: number, limit: number): Promise<FleetMessage[]> {
  const r = await pool.query<Record<string, unknown>>(
    `SELECT id, queue_id, session_id, received_at, src_ip, src_port, dest_ip, dest_port, channel, helo, mail_from, rcpt_to, subject, size,
       sha256, kind, verdict, body_stored, sensor FROM messages WHERE kind = 'relay-test' AND received_at >= $1 ORDER BY received_at LIMIT $2`,
    [since, limit],
  );
  return r.rows.map((x) => ({
    id: Number(x.id),
    queueId: x.queue_id as string,
    sessionId: x.session_id as string,
    receivedAt: Number(x.received_at),
    srcIp: x.src_ip as string,
    srcPort: x.src_port as number,
    destIp: x.dest_ip as string,
    destPort: x.dest_port as number,
    channel: x.channel as string,
    helo: (x.helo as string | null) ?? null,
    mailFrom: (x.mail_from as string | null) ?? null,
    rcptTo: Array.isArray(x.rcpt_to) ? (x.rcpt_to as unknown[]).map(String) : [],
    subject: (x.subject as string | null) ?? null,
    size: x.size as number,
    sha256: x.sha256 as string,
    kind: x.kind as StoredKind,
    verdict: (x.verdict as FleetMessage["verdict"]) ?? null,
    bodyStored: x.body_stored === true,
  }));
}
