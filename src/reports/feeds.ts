// Feeds for the ecosystem from relay-test sightings: a MISP feed directory (manifest.json, hashes.csv, one event
// JSON per UTC day, stable UUIDs so a re-export updates rather than duplicates), and plain CSV / JSON. Dropbox local
// parts can be redacted (feeds.redactDropboxLocalParts), then only the dropbox's domain is shared.
import { createHash } from "node:crypto";
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { classifyIp } from "../net/ip-scope.js";
import type { FeedData } from "../store/sqlite/feeds.js";

export interface FeedOptions {
  redactDropboxLocalParts: boolean;
  orgName: string;
  /** Keep sources that are not global unicast (loopback, private, link-local, documentation, ...): our own tests. */
  includePrivate?: boolean;
}

export interface SourceEntry {
  ip: string;
  tests: number;
  firstSeen: number;
  lastSeen: number;
  dropboxes: string[];
}

export interface DropboxEntry {
  /** The address, or "***@domain" when redacted. */
  address: string;
  domain: string;
  tests: number;
  sources: number;
  firstSeen: number;
  lastSeen: number;
}

/** A UUID (version 5 layout) derived from a name, so the same day's event keeps its UUID across exports. */
export function stableUuid(name: string): string {
  const h = createHash("sha1").update("relaytrap-feed:" + name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

function shown(address: string, o: FeedOptions): { address: string; domain: string } {
  const domain = address.slice(address.lastIndexOf("@") + 1);
  return { address: o.redactDropboxLocalParts ? `***@${domain}` : address, domain };
}

export function aggregate(data: FeedData, o: FeedOptions): { sources: SourceEntry[]; dropboxes: DropboxEntry[] } {
  const sources = new Map<string, SourceEntry>();
  const drops = new Map<string, DropboxEntry & { ips: Set<string> }>();
  for (const s of data.sightings) {
    // A test from a non-global address is the operator's own (or a lab's): it would go out as an indicator.
    if (!o.includePrivate && classifyIp(s.srcIp).reason !== null) continue;
    const e = sources.get(s.srcIp) ?? { ip: s.srcIp, tests: 0, firstSeen: s.firstSeen, lastSeen: s.lastSeen, dropboxes: [] };
    e.tests += s.tests;
    e.firstSeen = Math.min(e.firstSeen, s.firstSeen);
    e.lastSeen = Math.max(e.lastSeen, s.lastSeen);
    if (s.dropbox) {
      const d = shown(s.dropbox, o);
      if (!e.dropboxes.includes(d.address)) e.dropboxes.push(d.address);
      const de = drops.get(d.address) ?? { ...d, tests: 0, sources: 0, firstSeen: s.firstSeen, lastSeen: s.lastSeen, ips: new Set<string>() };
      de.tests += s.tests;
      de.ips.add(s.srcIp);
      de.sources = de.ips.size;
      de.firstSeen = Math.min(de.firstSeen, s.firstSeen);
      de.lastSeen = Math.max(de.lastSeen, s.lastSeen);
      drops.set(d.address, de);
    }
    sources.set(s.srcIp, e);
  }
  return {
    sources: [...sources.values()].sort((a, b) => b.tests - a.tests || (a.ip < b.ip ? -1 : 1)),
    dropboxes: [...drops.values()].map(({ ips: _ips, ...d }) => d).sort((a, b) => b.tests - a.tests || (a.address < b.address ? -1 : 1)),
  };
}

export function toJson(data: FeedData, o: FeedOptions): { generatedAt: string; sources: SourceEntry[]; dropboxes: DropboxEntry[] } {
  return { generatedAt: new Date(data.generatedAt).toISOString(), ...aggregate(data, o) };
}

function csvField(v: string | number): string {
  const s = String(v);
  // A leading = + - @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(s) ? "'" + s : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(data: FeedData, o: FeedOptions): string {
  const { sources, dropboxes } = aggregate(data, o);
  const iso = (t: number) => new Date(t).toISOString();
  const rows: Array<Array<string | number>> = [["type", "value", "tests", "sources", "first_seen", "last_seen", "related"]];
  for (const s of sources) rows.push(["relay-test-source", s.ip, s.tests, 1, iso(s.firstSeen), iso(s.lastSeen), s.dropboxes.join(" ")]);
  for (const d of dropboxes) rows.push(["dropbox", d.address, d.tests, d.sources, iso(d.firstSeen), iso(d.lastSeen), d.domain]);
  return rows.map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

export interface MispAttribute {
  uuid: string;
  type: "ip-src" | "email-dst" | "domain";
  category: "Network activity" | "Payload delivery";
  value: string;
  to_ids: boolean;
  timestamp: string;
  comment: string;
}

export interface MispEvent {
  Event: {
    uuid: string;
    info: string;
    date: string;
    timestamp: string;
    publish_timestamp: string;
    published: boolean;
    analysis: string;
    threat_level_id: string;
    distribution: string;
    Orgc: { name: string; uuid: string };
    Tag: Array<{ name: string }>;
    Attribute: MispAttribute[];
  };
}

/** One MISP event per UTC day with relay tests: its sources (ip-src) and dropboxes (email-dst, or domain when redacted). */
export function mispEvents(data: FeedData, o: FeedOptions): MispEvent[] {
  const days = new Map<string, FeedData["sightings"]>();
  for (const s of data.sightings) days.set(s.day, [...(days.get(s.day) ?? []), s]);
  const org = { name: o.orgName, uuid: stableUuid(`org:${o.orgName}`) };
  const out: MispEvent[] = [];
  for (const [day, sightings] of days) {
    const { sources, dropboxes } = aggregate({ generatedAt: data.generatedAt, sightings }, o);
    const uuid = stableUuid(`event:${o.orgName}:${day}`);
    const ts = String(Math.floor(Math.max(...sightings.map((s) => s.lastSeen)) / 1000));
    const attrs: MispAttribute[] = [
      ...sources.map((s) => ({
        uuid: stableUuid(`${uuid}:ip-src:${s.ip}`),
        type: "ip-src" as const,
        category: "Network activity" as const,
        value: s.ip,
        to_ids: true,
        timestamp: String(Math.floor(s.lastSeen / 1000)),
        comment: `open-relay tests sent to a honeypot: ${s.tests}`,
      })),
      ...dropboxes.map((d) => ({
        uuid: stableUuid(`${uuid}:dropbox:${d.address}`),
        type: o.redactDropboxLocalParts ? ("domain" as const) : ("email-dst" as const),
        category: "Payload delivery" as const,
        value: o.redactDropboxLocalParts ? d.domain : d.address,
        to_ids: false,
        timestamp: String(Math.floor(d.lastSeen / 1000)),
        comment: `dropbox of open-relay tests (${d.tests} tests from ${d.sources} sources)${o.redactDropboxLocalParts ? ", local part withheld" : ""}`,
      })),
    ];
    out.push({
      Event: {
        uuid,
        info: `relaytrap: open-relay test sources and dropboxes, ${day}`,
        date: day,
        timestamp: ts,
        publish_timestamp: ts,
        published: true,
        analysis: "2",
        threat_level_id: "3",
        distribution: "3",
        Orgc: org,
        Tag: [{ name: "tlp:clear" }, { name: 'relaytrap:kind="relay-test"' }],
        Attribute: attrs,
      },
    });
  }
  return out;
}

function md5(s: string): string {
  return createHash("md5").update(s, "utf8").digest("hex");
}

function writeAtomic(path: string, text: string): void {
  writeFileSync(path + ".tmp", text);
  renameSync(path + ".tmp", path);
}

/** Writes a MISP feed directory: <uuid>.json per event, manifest.json, hashes.csv (md5 of each value, event uuid). */
export function writeMispFeed(dir: string, data: FeedData, o: FeedOptions): { events: number; attributes: number } {
  mkdirSync(dir, { recursive: true });
  const events = mispEvents(data, o);
  const manifest: Record<string, unknown> = {};
  const hashes: string[] = [];
  let attributes = 0;
  for (const e of events) {
    const ev = e.Event;
    writeAtomic(join(dir, `${ev.uuid}.json`), JSON.stringify(e, null, 1));
    const { Attribute: attrs, uuid: _uuid, ...meta } = ev;
    manifest[ev.uuid] = meta;
    for (const a of attrs) hashes.push(`${md5(a.value)},${ev.uuid}`);
    attributes += attrs.length;
  }
  writeAtomic(join(dir, "manifest.json"), JSON.stringify(manifest, null, 1));
  writeAtomic(join(dir, "hashes.csv"), hashes.join("\n") + (hashes.length ? "\n" : ""));
  return { events: events.length, attributes };
}
