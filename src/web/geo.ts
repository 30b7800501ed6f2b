// Offline country and AS of the source addresses on a page, looked up when the page is read (no stored column, no
// migration): one cached look-up per distinct address.
import type { Enricher, Geo } from "../enrich/index.js";
import type { SourceSummary } from "../store/sqlite/web.js";

/** The rows with `geo` added from their `srcIp` (null: unknown, still loading, or enrichment off). */
export function withGeo<T extends { srcIp: string }>(enricher: Enricher | null | undefined, items: T[]): Array<T & { geo: Geo | null }> {
  return items.map((m) => ({ ...m, geo: enricher?.lookup(m.srcIp) ?? null }));
}

export interface GeoCount {
  /** Country code, or AS number as text. */
  key: string;
  /** AS name (ASN rows only). */
  name: string | null;
  sources: number;
  sessions: number;
  messages: number;
}

/** Top countries and ASes over per-source counts (the dashboard's top sources, read over a longer list). */
export function geoTops(enricher: Enricher | null | undefined, sources: SourceSummary[], limit: number): { countries: GeoCount[]; asns: GeoCount[] } {
  const countries = new Map<string, GeoCount>();
  const asns = new Map<string, GeoCount>();
  if (enricher) {
    for (const s of sources) {
      const g = enricher.lookup(s.ip);
      const add = (m: Map<string, GeoCount>, key: string, name: string | null) => {
        let c = m.get(key);
        if (!c) m.set(key, (c = { key, name, sources: 0, sessions: 0, messages: 0 }));
        c.sources++;
        c.sessions += s.sessions;
        c.messages += s.messages;
      };
      if (g?.country) add(countries, g.country, null);
      if (g?.asn != null) add(asns, String(g.asn), g.asnName);
    }
  }
  const rank = (m: Map<string, GeoCount>) => [...m.values()].sort((a, b) => b.sessions + b.messages - (a.sessions + a.messages) || a.key.localeCompare(b.key)).slice(0, limit);
  return { countries: rank(countries), asns: rank(asns) };
}
