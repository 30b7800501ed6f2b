// The collector event sink: events the push config selects are kept in memory for a moment and written to the
// durable SQLite outbox in one commit (EVENT_FLUSH_MS), bounded in memory and on disk; the pusher sends them from there.
import type { Config } from "../config/schema.js";
import type { EventSink, RelaytrapEvent } from "../events/dispatcher.js";
import { queuedEventCount, queueEvents } from "../store/sqlite/collector.js";
import type { StoreReader, StoreWriter } from "../store/types.js";

/** Events are written to the outbox at most this long after they were emitted (one commit for all of them). */
export const EVENT_FLUSH_MS = 200;
/** Events kept in memory waiting for that commit; beyond it new events are dropped (and counted). */
export const MAX_PENDING_EVENTS = 50_000;

export interface EventQueue {
  sink: EventSink;
  /** Writes the events kept in memory now; resolves when every write asked for so far is done. */
  write(): Promise<void>;
  /** The pusher acknowledged this many outbox events (they left the outbox). */
  pushed(events: number): void;
  /** The sink takes no more events. */
  stop(): void;
}

export interface EventQueueOptions {
  config: Config["collectorPush"];
  reader: StoreReader;
  writer: StoreWriter;
  log: (line: string) => void;
  /** Counts the events dropped (memory or outbox full, or the write failed). */
  stats: { droppedEvents: number };
  /** Called after events reached the outbox. */
  onQueued: () => void;
}

function matches(prefixes: string[], id: string): boolean {
  return prefixes.some((p) => (p.endsWith(".") ? id.startsWith(p) : id === p));
}

export function createEventQueue(o: EventQueueOptions): EventQueue {
  const c = o.config;
  let outboxEvents = queuedEventCount(o.reader);
  let pending: string[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let stopped = false;

  function write(): Promise<void> {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = null;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return writing;
    writing = writing
      .then(() => queueEvents(o.writer, batch))
      .then(
        () => {
          outboxEvents += batch.length;
          o.onQueued();
        },
        (err: Error) => {
          o.stats.droppedEvents += batch.length;
          o.log(`relaytrap: collector: queueing ${batch.length} events failed: ${err.message}`);
        },
      );
    return writing;
  }

  const sink: EventSink = {
    name: "collector",
    write(e: RelaytrapEvent) {
      if (stopped || !matches(c.events, e.eventid)) return;
      if (pending.length >= MAX_PENDING_EVENTS || outboxEvents + pending.length >= c.maxOutboxEvents) {
        o.stats.droppedEvents++;
        return;
      }
      pending.push(JSON.stringify(e));
      flushTimer ??= setTimeout(() => void write(), EVENT_FLUSH_MS);
    },
  };

  return {
    sink,
    write,
    pushed(events) {
      outboxEvents = Math.max(0, outboxEvents - events);
    },
    stop() {
      stopped = true;
    },
  };
}
