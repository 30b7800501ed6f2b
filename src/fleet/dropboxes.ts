// The fleet's shared dropbox list on the sensor side: the puller fetches it from the collector now and then and keeps
// it (in memory and in the SQLite state table); classification gets it through the ingest path, and the delivery
// engine's dropbox-copy countermeasure through the store wrapper withFleetDropboxes.
import type { Config } from "../config/schema.js";
import { outboundFetch } from "../net/outbound.js";
import type { DeliveryStore } from "../store/delivery.js";
import { FLEET_DROPBOXES_KEY, readState, writeState } from "../store/sqlite/collector.js";
import type { StoreReader, StoreWriter } from "../store/types.js";
import { DROPBOXES_PATH, type FleetDropbox } from "./protocol.js";

/** Shared dropboxes kept for classification at most. */
export const MAX_FLEET_DROPBOXES = 100_000;
/** Longest address taken from the shared list. */
const MAX_ADDRESS_CHARS = 320;

export interface DropboxPuller {
  /** Pulls now, and every config.dropboxPullIntervalMs (a failure is logged). */
  start(): void;
  /** Pulls the list now (throws what went wrong). */
  pull(): Promise<void>;
  /** Lower-cased fleet dropboxes with at least the configured score. */
  known(): ReadonlySet<string>;
  stop(): void;
}

export interface DropboxPullerOptions {
  /** The collector's base URL, without a trailing slash. */
  base: string;
  headers: { Authorization: string; "User-Agent": string };
  config: Config["collectorPush"];
  reader: StoreReader;
  writer: StoreWriter;
  log: (line: string) => void;
  /** Aborts a pull in flight when the sensor stops. */
  signal: AbortSignal;
}

function parseDropboxState(s: string | null): string[] {
  if (s === null) return [];
  try {
    const v: unknown = JSON.parse(s);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string").slice(0, MAX_FLEET_DROPBOXES) : [];
  } catch {
    return [];
  }
}

export function createDropboxPuller(o: DropboxPullerOptions): DropboxPuller {
  const c = o.config;
  let fleet = new Set<string>(parseDropboxState(readState(o.reader, FLEET_DROPBOXES_KEY)));
  let pullTimer: NodeJS.Timeout | null = null;

  async function pull(): Promise<void> {
    const res = await outboundFetch("collector", `${o.base}${DROPBOXES_PATH}?limit=${MAX_FLEET_DROPBOXES}&min_score=${c.dropboxMinScore}`, {
      headers: { Authorization: o.headers.Authorization, "User-Agent": o.headers["User-Agent"] },
      signal: AbortSignal.any([o.signal, AbortSignal.timeout(c.timeoutMs)]),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { items?: unknown };
    if (!Array.isArray(body.items)) throw new Error("unexpected answer (no items)");
    const list = (body.items as Array<Partial<FleetDropbox>>)
      .filter((d) => typeof d.address === "string" && typeof d.score === "number" && d.score >= c.dropboxMinScore && d.address.length <= MAX_ADDRESS_CHARS)
      .map((d) => d.address!.toLowerCase())
      .slice(0, MAX_FLEET_DROPBOXES);
    fleet = new Set(list);
    await writeState(o.writer, FLEET_DROPBOXES_KEY, JSON.stringify(list));
  }

  const pullQuietly = () =>
    void pull().catch((err: unknown) => o.log(`relaytrap: collector: pulling the shared dropbox list failed: ${(err as Error).message}`));

  return {
    start() {
      pullQuietly();
      pullTimer = setInterval(pullQuietly, c.dropboxPullIntervalMs);
      pullTimer.unref();
    },
    pull,
    known: () => fleet,
    stop() {
      if (pullTimer) clearInterval(pullTimer);
    },
  };
}

/** A delivery store whose known dropboxes include the fleet's (for the dropbox-copy countermeasure). */
export function withFleetDropboxes(store: DeliveryStore, fleet: () => ReadonlySet<string>): DeliveryStore {
  return {
    ...store,
    knownDropboxes(addresses) {
      const own = store.knownDropboxes(addresses);
      const f = fleet();
      if (f.size === 0) return own;
      const out = new Set(own);
      for (const a of addresses) if (f.has(a.toLowerCase())) out.add(a.toLowerCase());
      return out;
    },
  };
}
