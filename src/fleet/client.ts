// Sensor side of the fleet: an event sink that queues events in the durable SQLite outbox (queue.ts), a background
// pusher that sends them and the stored message summaries to the collector in batches (push.ts), and a periodic pull
// of the shared dropbox list (dropboxes.ts). Nothing here is on the SMTP path: the sink only appends to an array.
// The collector URL is an operator-configured destination (config collectorUrl): nothing is sent without it.
import type { Config } from "../config/schema.js";
import type { EventSink } from "../events/dispatcher.js";
import { MESSAGE_CURSOR_KEY, readState } from "../store/sqlite/collector.js";
import type { StoreReader, StoreWriter } from "../store/types.js";
import { relaytrapVersion } from "../version.js";
import { createDropboxPuller } from "./dropboxes.js";
import { createPusher, type PushStats } from "./push.js";
import { createEventQueue } from "./queue.js";

export interface CollectorClientOptions {
  url: string;
  token: string;
  config: Config["collectorPush"];
  reader: StoreReader;
  writer: StoreWriter;
  log: (line: string) => void;
  version?: string;
}

export interface CollectorClientStats extends PushStats {
  droppedEvents: number;
}

export interface CollectorClient {
  sink: EventSink;
  start(): void;
  /** Writes pending events, pushes until the outbox is empty (retrying as needed); for tests and shutdown. */
  flush(): Promise<void>;
  /** Pulls the shared dropbox list now. */
  pullDropboxes(): Promise<void>;
  /** Lower-cased fleet dropboxes with at least the configured score. */
  knownDropboxes(): ReadonlySet<string>;
  readonly stats: CollectorClientStats;
  close(): Promise<void>;
}

export function createCollectorClient(o: CollectorClientOptions): CollectorClient {
  const base = o.url.replace(/\/+$/, "");
  const version = o.version ?? relaytrapVersion();
  const headers = { Authorization: `Bearer ${o.token}`, "Content-Type": "application/json", "User-Agent": `relaytrap/${version}` };
  const stats: CollectorClientStats = { pushes: 0, failures: 0, droppedEvents: 0, lastError: null, cursor: Number(readState(o.reader, MESSAGE_CURSOR_KEY) ?? "0") || 0 };
  let started = false;
  /** Aborts a push or pull in flight when the sensor stops (the batch is simply sent again next time). */
  const shutdown = new AbortController();
  const shared = { base, headers, config: o.config, reader: o.reader, writer: o.writer, log: o.log, signal: shutdown.signal };
  const queue = createEventQueue({ ...shared, stats, onQueued: () => pusher.wakeUp() });
  const pusher = createPusher({ ...shared, version, stats, onPushed: (events) => queue.pushed(events) });
  const puller = createDropboxPuller(shared);

  return {
    sink: queue.sink,
    stats,
    start() {
      if (started) return;
      started = true;
      pusher.start();
      puller.start();
    },
    async flush() {
      await queue.write();
      await pusher.drained();
    },
    pullDropboxes: puller.pull,
    knownDropboxes: puller.known,
    async close() {
      await queue.write();
      queue.stop();
      puller.stop();
      shutdown.abort();
      await pusher.close();
    },
  };
}
