// Storage retention for a running sensor: prunes by age (storage.maxAgeDays), by body quota (storage.quotaBytes) and,
// when a write finds storage full, a slice of the oldest data. Deleting what was trapped is never silent.
import type { Config } from "./config/schema.js";
import type { Dispatcher } from "./events/dispatcher.js";
import type { StoreWriter } from "./store/types.js";

/** Share of the storage cap (or of the stored bodies, on a full disk) freed when a write finds storage full. */
export const FULL_FREE_FRACTION = 0.1;

/** The context of events that belong to no session (store.pruned). */
const STORE_CONTEXT = { session: "", protocol: "store", src_ip: "", src_port: 0, dest_ip: "", dest_port: 0 };

export interface Retention {
  /** `full`: a write failed for lack of space, so give up the oldest data until a slice of the cap is free again.
   * One prune at a time: a call while one runs gets that one. */
  prune(full?: boolean): Promise<void>;
  /** After a body was stored: prunes when the bodies are past storage.quotaBytes. */
  bodyStored(): void;
  /** Prunes now and every storage.pruneIntervalMs. */
  start(): void;
  /** Stops the timer (a write that finds storage full still prunes). */
  stop(): void;
  /** Resolves once the prune in progress, if any, is done. */
  idle(): Promise<void>;
}

export interface RetentionOptions {
  storage: Config["storage"];
  writer: StoreWriter;
  events: Pick<Dispatcher, "emit">;
  log: (line: string) => void;
}

export function createRetention(o: RetentionOptions): Retention {
  const st = o.storage;
  let timer: NodeJS.Timeout | null = null;
  let pruning: Promise<void> | null = null;

  const why = (reason: string, olderThan: number | null): string =>
    reason === "age"
      ? `age, received before ${new Date(olderThan ?? 0).toISOString()} (storage.maxAgeDays ${st.maxAgeDays}${st.pruneImported === "received-time" ? ", imports by received time" : ""})`
      : reason === "quota"
        ? `bodies past storage.quotaBytes ${st.quotaBytes}`
        : `storage full${st.maxDatabaseBytes > 0 ? ` (storage.maxDatabaseBytes ${st.maxDatabaseBytes})` : " (disk)"}`;

  const prune = (full = false): Promise<void> => {
    const freeBytes = !full ? 0 : Math.ceil((st.maxDatabaseBytes > 0 ? st.maxDatabaseBytes : o.writer.rawBytes()) * FULL_FREE_FRACTION);
    const olderThan = st.maxAgeDays > 0 ? Date.now() - st.maxAgeDays * 86_400_000 : null;
    pruning ??= o.writer
      .prune({ olderThan, importedBy: st.pruneImported, quotaBytes: st.quotaBytes, freeBytes })
      .then(
        (r) => {
          // One line and one event per reason.
          for (const p of r.reports) {
            const bodies = p.bodies > 0 ? `, ${p.bodies} bodies` : "";
            o.log(`relaytrap: pruned ${p.messages} messages, ${p.sessions} sessions${bodies} (${p.bytes} bytes): ${why(p.reason, olderThan)}`);
            o.events.emit("store.pruned", STORE_CONTEXT, {
              reason: p.reason,
              messages: p.messages,
              sessions: p.sessions,
              bodies: p.bodies,
              bytes: p.bytes,
              older_than: p.reason === "age" && olderThan !== null ? new Date(olderThan).toISOString() : undefined,
            });
          }
        },
        (err: Error) => o.log(`relaytrap: prune failed: ${err.message}`),
      )
      .finally(() => (pruning = null));
    return pruning;
  };

  return {
    prune,
    bodyStored() {
      if (o.writer.rawBytes() > st.quotaBytes) void prune();
    },
    start() {
      void prune();
      timer = setInterval(() => void prune(), st.pruneIntervalMs).unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    async idle() {
      await pruning;
    },
  };
}
