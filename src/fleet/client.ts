// Sensor side of the fleet: an event sink that queues events in the durable SQLite outbox, a background pusher that
// sends them and the stored message summaries to the collector in batches (retry with backoff, idempotent ids), and a
// periodic pull of the shared dropbox list. Nothing here is on the SMTP path: the sink only appends to an array.
// The collector URL is an operator-configured destination (config collectorUrl): nothing is sent without it.
import type { Config } from "../config/schema.js";
import { outboundFetch } from "../net/outbound.js";
import type { EventSink, RelaytrapEvent } from "../events/dispatcher.js";
import { DROPBOXES_PATH, INGEST_PATH, type FleetDropbox, type IngestBatch } from "./protocol.js";
import {
  acknowledge,
  FLEET_DROPBOXES_KEY,
  MESSAGE_CURSOR_KEY,
  messagesAfter,
  queuedEventCount,
  queuedEvents,
  queueEvents,
  readState,
  writeState,
} from "../store/sqlite/collector.js";
import type { StoreReader, StoreWriter } from "../store/types.js";
import { relaytrapVersion } from "../version.js";

/** Events are written to the outbox at most this long after they were emitted (one commit for all of them). */
export const EVENT_FLUSH_MS = 200;
/** Events kept in memory waiting for that commit; beyond it new events are dropped (and counted). */
export const MAX_PENDING_EVENTS = 50_000;
/** Shared dropboxes kept for classification at most. */
export const MAX_FLEET_DROPBOXES = 100_000;

export interface CollectorClientOptions {
  url: string;
  token: string;
  config: Config["collectorPush"];
  reader: StoreReader;
  writer: StoreWriter;
  log: (line: string) => void;
  version?: string;
}

export interface CollectorClientStats {
  pushes: number;
  failures: number;
  droppedEvents: number;
  lastError: string | null;
  cursor: number;
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

class PushError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

function matches(prefixes: string[], id: string): boolean {
  return prefixes.some((p) => (p.endsWith(".") ? id.startsWith(p) : id === p));
}

export function createCollectorClient(o: CollectorClientOptions): CollectorClient {
  const c = o.config;
  const base = o.url.replace(/\/+$/, "");
  const version = o.version ?? relaytrapVersion();
  const headers = { Authorization: `Bearer ${o.token}`, "Content-Type": "application/json", "User-Agent": `relaytrap/${version}` };
  const stats: CollectorClientStats = { pushes: 0, failures: 0, droppedEvents: 0, lastError: null, cursor: Number(readState(o.reader, MESSAGE_CURSOR_KEY) ?? "0") || 0 };
  let outboxEvents = queuedEventCount(o.reader);
  let pending: string[] = [];
  let flushTimer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  let batchSize = c.batchSize;
  let stopped = false;
  let started = false;
  let wake: (() => void) | null = null;
  let sleepTimer: NodeJS.Timeout | null = null;
  let loop: Promise<void> | null = null;
  let pullTimer: NodeJS.Timeout | null = null;
  /** Bumped when a flush is asked for; a pass that started at or after it and found nothing left resolves it. */
  let generation = 0;
  let idleWaiters: Array<{ gen: number; resolve: () => void }> = [];
  let fleet = new Set<string>(parseDropboxState(readState(o.reader, FLEET_DROPBOXES_KEY)));
  let errorLogged = false;
  /** Aborts a push in flight when the sensor stops (the batch is simply sent again next time). */
  const shutdown = new AbortController();

  function writePending(): Promise<void> {
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
          wakeUp();
        },
        (err: Error) => {
          stats.droppedEvents += batch.length;
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
        stats.droppedEvents++;
        return;
      }
      pending.push(JSON.stringify(e));
      flushTimer ??= setTimeout(() => void writePending(), EVENT_FLUSH_MS);
    },
  };

  function wakeUp(): void {
    if (sleepTimer) clearTimeout(sleepTimer);
    sleepTimer = null;
    const w = wake;
    wake = null;
    w?.();
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (stopped) return resolve();
      wake = resolve;
      sleepTimer = setTimeout(() => {
        sleepTimer = null;
        wake = null;
        resolve();
      }, ms);
    });
  }

  async function post(batch: IngestBatch): Promise<void> {
    let res: Response;
    try {
      res = await outboundFetch("collector", `${base}${INGEST_PATH}`, {
        method: "POST",
        headers,
        body: JSON.stringify(batch),
        signal: AbortSignal.any([shutdown.signal, AbortSignal.timeout(c.timeoutMs)]),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new PushError(`${base}: ${cause ?? (err as Error).message}`, null);
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) throw new PushError(`${base}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
  }

  /** One push; "more" when a full batch went out (push again at once). */
  async function pushOnce(): Promise<"empty" | "more"> {
    const messages = messagesAfter(o.reader, stats.cursor, batchSize, { include: c.rawBodies, maxBytes: c.maxRawBytes });
    const events = queuedEvents(o.reader, batchSize);
    if (messages.length === 0 && events.length === 0) return "empty";
    const cursor = messages.length ? messages[messages.length - 1]!.id : stats.cursor;
    const lastEventId = events.length ? events[events.length - 1]!.id : null;
    try {
      await post({ version, messages, events });
    } catch (err) {
      // A batch the collector refuses as too large or malformed is split; a single refused item is skipped, so one bad
      // row can never stop the outbox for good.
      if (err instanceof PushError && (err.status === 413 || err.status === 400)) {
        if (batchSize > 1) {
          batchSize = Math.max(1, Math.floor(batchSize / 2));
          throw err;
        }
        o.log(`relaytrap: collector: skipping an item the collector refuses: ${err.message}`);
      } else throw err;
    }
    await acknowledge(o.writer, { cursor, lastEventId });
    stats.cursor = cursor;
    outboxEvents = Math.max(0, outboxEvents - events.length);
    stats.pushes++;
    return messages.length >= batchSize || events.length >= batchSize ? "more" : "empty";
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopped) {
      const gen = generation;
      let result: "empty" | "more";
      try {
        result = await pushOnce();
        failures = 0;
        if (errorLogged) o.log("relaytrap: collector: pushing again");
        errorLogged = false;
        stats.lastError = null;
      } catch (err) {
        failures++;
        stats.failures++;
        stats.lastError = (err as Error).message;
        if (!errorLogged) o.log(`relaytrap: collector: push failed (will retry): ${(err as Error).message}`);
        errorLogged = true;
        const delay = Math.min(c.retryMaxMs, c.retryBaseMs * 2 ** Math.min(failures - 1, 30));
        await sleep(delay / 2 + (Math.random() * delay) / 2);
        continue;
      }
      if (result === "more") continue;
      const done = idleWaiters.filter((w) => w.gen <= gen);
      idleWaiters = idleWaiters.filter((w) => w.gen > gen);
      for (const w of done) w.resolve();
      if (idleWaiters.length === 0) await sleep(c.intervalMs);
    }
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

  async function pullDropboxes(): Promise<void> {
    const res = await outboundFetch("collector", `${base}${DROPBOXES_PATH}?limit=${MAX_FLEET_DROPBOXES}&min_score=${c.dropboxMinScore}`, {
      headers: { Authorization: headers.Authorization, "User-Agent": headers["User-Agent"] },
      signal: AbortSignal.any([shutdown.signal, AbortSignal.timeout(c.timeoutMs)]),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { items?: unknown };
    if (!Array.isArray(body.items)) throw new Error("unexpected answer (no items)");
    const list = (body.items as Array<Partial<FleetDropbox>>)
      .filter((d) => typeof d.address === "string" && typeof d.score === "number" && d.score >= c.dropboxMinScore && d.address.length <= 320)
      .map((d) => d.address!.toLowerCase())
      .slice(0, MAX_FLEET_DROPBOXES);
    fleet = new Set(list);
    await writeState(o.writer, FLEET_DROPBOXES_KEY, JSON.stringify(list));
  }

  const pullQuietly = () =>
    void pullDropboxes().catch((err: unknown) => o.log(`relaytrap: collector: pulling the shared dropbox list failed: ${(err as Error).message}`));

  return {
    sink,
    stats,
    start() {
      if (started) return;
      started = true;
      loop = run();
      pullQuietly();
      pullTimer = setInterval(pullQuietly, c.dropboxPullIntervalMs);
      pullTimer.unref();
    },
    async flush() {
      await writePending();
      if (!started || stopped) return;
      const gen = ++generation;
      const done = new Promise<void>((resolve) => idleWaiters.push({ gen, resolve }));
      wakeUp();
      await done;
    },
    pullDropboxes,
    knownDropboxes: () => fleet,
    async close() {
      await writePending();
      stopped = true;
      if (pullTimer) clearInterval(pullTimer);
      shutdown.abort();
      wakeUp();
      for (const w of idleWaiters) w.resolve();
      idleWaiters = [];
      await loop;
    },
  };
}
