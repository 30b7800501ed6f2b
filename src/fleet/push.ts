// The pusher: a background loop that sends the stored message summaries (after the cursor) and the queued events to
// the collector in batches, acknowledges what went out, retries with jittered exponential backoff, and halves a batch
// the collector refuses as too large. Idle, it sleeps config.intervalMs (or until woken by new events or a flush).
import type { Config } from "../config/schema.js";
import { outboundFetch } from "../net/outbound.js";
import { acknowledge, messagesAfter, queuedEvents } from "../store/sqlite/collector.js";
import type { StoreReader, StoreWriter } from "../store/types.js";
import { INGEST_PATH, type IngestBatch } from "./protocol.js";

export interface PushStats {
  pushes: number;
  failures: number;
  lastError: string | null;
  /** Id of the last message summary the collector acknowledged. */
  cursor: number;
}

export interface Pusher {
  start(): void;
  /** Ends the idle wait now (new events are in the outbox). */
  wakeUp(): void;
  /** Resolves once a pass that started after this call found nothing left to push (or the pusher stops). */
  drained(): Promise<void>;
  /** Stops the loop (a push in flight is aborted through `signal` by the caller) and waits for it. */
  close(): Promise<void>;
}

export interface PusherOptions {
  /** The collector's base URL, without a trailing slash. */
  base: string;
  headers: Record<string, string>;
  version: string;
  config: Config["collectorPush"];
  reader: StoreReader;
  writer: StoreWriter;
  log: (line: string) => void;
  stats: PushStats;
  /** Aborts a push in flight when the sensor stops (the batch is simply sent again next time). */
  signal: AbortSignal;
  /** Called with the number of outbox events a push acknowledged. */
  onPushed: (events: number) => void;
}

class PushError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export function createPusher(o: PusherOptions): Pusher {
  const c = o.config;
  const { base, stats } = o;
  let batchSize = c.batchSize;
  let stopped = false;
  let started = false;
  let wake: (() => void) | null = null;
  let sleepTimer: NodeJS.Timeout | null = null;
  let loop: Promise<void> | null = null;
  /** Bumped when a flush is asked for; a pass that started at or after it and found nothing left resolves it. */
  let generation = 0;
  let idleWaiters: Array<{ gen: number; resolve: () => void }> = [];
  let errorLogged = false;

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
        headers: o.headers,
        body: JSON.stringify(batch),
        signal: AbortSignal.any([o.signal, AbortSignal.timeout(c.timeoutMs)]),
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
      await post({ version: o.version, messages, events });
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
    o.onPushed(events.length);
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

  return {
    start() {
      if (started) return;
      started = true;
      loop = run();
    },
    wakeUp,
    async drained() {
      if (!started || stopped) return;
      const gen = ++generation;
      const done = new Promise<void>((resolve) => idleWaiters.push({ gen, resolve }));
      wakeUp();
      await done;
    },
    async close() {
      stopped = true;
      wakeUp();
      for (const w of idleWaiters) w.resolve();
      idleWaiters = [];
      await loop;
    },
  };
}
