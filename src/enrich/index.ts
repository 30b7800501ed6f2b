// Offline enrichment of source addresses: country and AS (number, name) from local databases, never the network.
// Defaults ship with npm packages (a CC0 country MMDB, a routeviews/DB-IP ASN CSV); an operator's GeoLite2 files
// (enrich.countryDb, enrich.asnDb) replace them. The defaults load once, in the background, in slices that yield to
// the event loop; a look-up before they are loaded answers null (the event goes out without geo) and is never waited.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { isIPv4, isIPv6 } from "node:net";
import ipaddr from "ipaddr.js";
import { Reader, type Response } from "maxmind";
import { ConfigError } from "../config/load.js";
import { loadAsnCsv, type AsnTable } from "./asn-csv.js";

/** Distinct addresses whose answer is kept (least recently used dropped first). */
export const ENRICH_CACHE_SIZE = 10_000;

export interface Geo {
  /** ISO 3166-1 alpha-2, upper case. */
  country: string | null;
  asn: number | null;
  asnName: string | null;
}

export interface EnricherOptions {
  /** A GeoLite2-Country / -City MMDB (country.iso_code) or any MMDB with a country_code; default: the shipped one. */
  countryDb?: string | undefined;
  /** A GeoLite2-ASN MMDB (autonomous_system_number, autonomous_system_organization); default: the shipped CSV. */
  asnDb?: string | undefined;
  cacheSize?: number;
}

export interface Enricher {
  /** Country and AS of an address; null when nothing is known or the databases are still loading. */
  lookup(ip: string): Geo | null;
  /** Resolves when the databases are loaded (starts loading them if nothing has yet). */
  ready(): Promise<void>;
  readonly loaded: boolean;
}

const require = createRequire(import.meta.url);
const SHIPPED_COUNTRY_DB = "@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb";
const SHIPPED_ASN_V4 = "@ip-location-db/asn/asn-ipv4-num.csv";
const SHIPPED_ASN_V6 = "@ip-location-db/asn/asn-ipv6-num.csv";

type CountryRecord = { country_code?: string; country?: { iso_code?: string }; registered_country?: { iso_code?: string } };
type AsnRecord = { autonomous_system_number?: number; autonomous_system_organization?: string };

/** Opens an operator's MMDB now (at start), or says which key is wrong and why. */
function openOperatorDb(key: string, path: string, want: "country" | "asn"): Reader<Response> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let r: Reader<Response>;
  try {
    r = new Reader<Response>(buf);
  } catch (err) {
    throw new ConfigError(key, `${path} is not a MaxMind DB (MMDB) file: ${(err as Error).message}`);
  }
  const type = r.metadata.databaseType;
  const isAsn = /asn/i.test(type) && !/country/i.test(type);
  if (want === "asn" && !isAsn) throw new ConfigError(key, `${path} is a ${type} database, not an ASN one (GeoLite2-ASN)`);
  if (want === "country" && isAsn) throw new ConfigError(key, `${path} is an ASN database (${type}), not a country one (GeoLite2-Country or -City)`);
  return r;
}

type Parsed = { text: string } & ({ v4: number } | { hi: bigint; lo: bigint });

/** The IPv6 address as two 64-bit halves, or the IPv4 address as a number (IPv4-mapped IPv6 counts as IPv4), and the
 * normal text form the MMDB readers are given. */
function parse(ip: string): Parsed | null {
  if (isIPv4(ip)) {
    const p = ip.split(".");
    return { text: ip, v4: ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0 };
  }
  if (!isIPv6(ip)) return null;
  const a = ipaddr.process(ip.replace(/%.*$/, ""));
  if (a.kind() === "ipv4") return parse(a.toString());
  const b = Buffer.from(a.toByteArray());
  return { text: a.toString(), hi: b.readBigUInt64BE(0), lo: b.readBigUInt64BE(8) };
}

export function createEnricher(o: EnricherOptions = {}): Enricher {
  const cacheSize = o.cacheSize ?? ENRICH_CACHE_SIZE;
  let country: Reader<Response> | null = o.countryDb !== undefined ? openOperatorDb("enrich.countryDb", o.countryDb, "country") : null;
  const asnMmdb: Reader<Response> | null = o.asnDb !== undefined ? openOperatorDb("enrich.asnDb", o.asnDb, "asn") : null;
  let asnCsv: AsnTable | null = null;
  let loading: Promise<void> | null = null;
  let loaded = country !== null && asnMmdb !== null;
  const cache = new Map<string, Geo | null>();

  async function load(): Promise<void> {
    if (country === null) {
      country = new Reader<Response>(await readFile(require.resolve(SHIPPED_COUNTRY_DB)));
    }
    if (asnMmdb === null) asnCsv = await loadAsnCsv(require.resolve(SHIPPED_ASN_V4), require.resolve(SHIPPED_ASN_V6));
    loaded = true;
    cache.clear();
  }

  function ready(): Promise<void> {
    loading ??= load();
    return loading;
  }

  function compute(ip: string): Geo | null {
    const p = parse(ip);
    if (p === null) return null;
    let cc: string | null = null;
    let asn: number | null = null;
    let asnName: string | null = null;
    try {
      const rec = (country?.get(p.text) ?? null) as CountryRecord | null;
      const code = rec?.country?.iso_code ?? rec?.country_code ?? rec?.registered_country?.iso_code;
      if (typeof code === "string" && /^[A-Za-z]{2}$/.test(code)) cc = code.toUpperCase();
    } catch {
      // an address the database cannot hold (IPv6 in an IPv4-only file): no country
    }
    if (asnMmdb !== null) {
      try {
        const rec = asnMmdb.get(p.text) as AsnRecord | null;
        if (rec && typeof rec.autonomous_system_number === "number") {
          asn = rec.autonomous_system_number;
          asnName = rec.autonomous_system_organization ?? null;
        }
      } catch {
        // as above
      }
    } else if (asnCsv !== null) {
      const hit = "v4" in p ? asnCsv.lookup4(p.v4) : asnCsv.lookup6(p.hi, p.lo);
      if (hit) ((asn = hit.asn), (asnName = hit.name));
    }
    return cc === null && asn === null ? null : { country: cc, asn, asnName };
  }

  return {
    get loaded() {
      return loaded;
    },
    ready,
    lookup(ip) {
      if (!loaded) {
        void ready().catch(() => {});
        return null;
      }
      if (cache.has(ip)) {
        const v = cache.get(ip)!;
        cache.delete(ip);
        cache.set(ip, v);
        return v;
      }
      const v = compute(ip);
      cache.set(ip, v);
      if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
      return v;
    },
  };
}

/** The `geo` field of an event (snake_case like every event field), or null when nothing is known. */
export function geoField(g: Geo | null): { country: string | null; asn: number | null; as_name: string | null } | null {
  return g === null ? null : { country: g.country, asn: g.asn, as_name: g.asnName };
}
