// The data behind feeds (MISP, CSV, JSON): relay-test sources and the dropboxes they named, per UTC day.
import type { StoreReader } from "../types.js";

export interface FeedSighting {
  day: string;
  srcIp: string;
  /** Lower-cased dropbox, or null for a relay test that named none. */
  dropbox: string | null;
  tests: number;
  firstSeen: number;
  lastSeen: number;
}

export interface FeedData {
  generatedAt: number;
  sightings: FeedSighting[];
}

export function feedData(reader: StoreReader, since: number, now = Date.now()): FeedData {
  const sightings = reader.all<FeedSighting>(
    `SELECT date(m.received_at / 1000, 'unixepoch') AS day, m.src_ip AS srcIp, lower(d.value) AS dropbox, COUNT(*) AS tests,
       MIN(m.received_at) AS firstSeen, MAX(m.received_at) AS lastSeen
     FROM messages m LEFT JOIN json_each(m.verdict, '$.dropboxes') d
     WHERE m.kind = 'relay-test' AND m.confidence = 'certain' AND m.received_at >= ?
     GROUP BY day, m.src_ip, lower(d.value) ORDER BY day, m.src_ip, dropbox`,
    since,
  );
  return { generatedAt: now, sightings };
}
