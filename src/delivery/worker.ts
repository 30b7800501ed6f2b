// The delivery worker: a loop that sends the due outbox rows one by one (the kill switch checked before each), with a
// timeout per attempt, retries with exponential backoff, and queued rows too old to send dropped as expired.
import type { Config } from "../config/schema.js";
import type { EventId } from "../events/catalog.js";
import type { Dispatcher, EventContext } from "../events/dispatcher.js";
import { parseHostPort } from "../net/address.js";
import { createOutbound } from "../net/outbound.js";
import type { DeliveryStore, OutboxRow } from "../store/delivery.js";
import type { StoreReader } from "../store/types.js";
import { CAP_WINDOW_MS } from "./policy.js";
import { createTransport, DeliveryError, type Transport } from "./transport.js";
import type { Fail } from "./types.js";

/** Outbox rows handled per worker pass. */
const DUE_BATCH = 10;
/** Queued deliveries older than this are dropped, not sent late (e.g. after a long kill-switch pause). */
export const MAX_QUEUE_AGE_MS = CAP_WINDOW_MS;
/** Longest wait between two attempts. */
export const MAX_RETRY_DELAY_MS = 6 * 3_600_000;

export interface DeliveryWorker {
  /** From now on kick() runs passes (until stop()). */
  start(): void;
  /** Runs a pass after `delay` ms (at once by default); each pass schedules the next one config.pollMs after it. */
  kick(delay?: number): void;
  /** The pass in progress, if any. */
  inFlight(): Promise<void> | null;
  /** No pass starts any more; one in progress stops before its next send. */
  stop(): void;
  /** Waits for the pass in progress, at most graceMs (past that its row stays 'sending', queued again at start). */
  settle(graceMs: number): Promise<void>;
}

export interface DeliveryWorkerOptions {
  config: Config;
  hostname: string;
  store: DeliveryStore;
  reader: StoreReader;
  events: Dispatcher;
  fail: Fail;
  /** Tests may pass a fake; by default nodemailer over net/outbound.ts. */
  transport?: Transport | undefined;
  now: () => number;
}

export function createDeliveryWorker(o: DeliveryWorkerOptions): DeliveryWorker {
  const d = o.config.delivery;
  const now = o.now;
  const ownIps = [...o.config.sensorIps, ...o.config.smtpListen.map((hp) => parseHostPort(hp)?.host ?? "").filter((h) => h !== "")];
  let transport: Transport | null = o.transport ?? null;
  const getTransport = (): Transport =>
    (transport ??= createTransport({
      outbound: createOutbound({ smarthost: d.smarthost ?? null, allowPrivateMx: d.allowPrivateMx, refuseIps: ownIps, timeoutMs: d.timeoutMs }),
      name: o.hostname,
      timeoutMs: d.timeoutMs,
    }));

  let pass: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let started = false;
  let stopped = false;

  const emit = (id: EventId, ctx: EventContext, fields: Record<string, unknown>) => o.events.emit(id, ctx, fields);

  /** The kill switch: config wins, then the persisted switch (read fresh every time). */
  const allowed = (): boolean => d.enabled && !stopped && o.store.switchState() === "on";

  function kick(delay = 0): void {
    if (!started || stopped || !d.enabled) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      runPass();
    }, delay);
    timer.unref();
  }

  function runPass(): void {
    if (pass) return;
    pass = workerPass()
      .catch(o.fail("worker"))
      .finally(() => {
        pass = null;
        kick(d.pollMs);
      });
  }

  function ctxFor(row: OutboxRow): EventContext {
    const m = o.reader.getMessage(row.messageId);
    return m
      ? { session: m.sessionId, protocol: "smtp", src_ip: m.srcIp, src_port: m.srcPort, dest_ip: m.destIp, dest_port: m.destPort }
      : { session: row.sessionId, protocol: "smtp", src_ip: row.srcIp, src_port: 0, dest_ip: "", dest_port: 0 };
  }

  async function workerPass(): Promise<void> {
    if (!allowed()) return;
    const t = now();
    for (const row of await o.store.expireQueued(t - MAX_QUEUE_AGE_MS, t)) {
      emit("delivery.skipped", ctxFor(row), { message: row.messageId, recipient: row.recipient, mode: row.mode, reason: "expired", outbox: row.id });
    }
    for (;;) {
      const rows = o.store.due(now(), DUE_BATCH);
      if (rows.length === 0) return;
      for (const row of rows) {
        if (!allowed()) return; // kill switch: checked before every send
        await sendOne(row);
      }
    }
  }

  async function sendOne(row: OutboxRow): Promise<void> {
    if (!(await o.store.claim(row.id, now()))) return;
    const attempt = row.attempts + 1;
    const ctx = ctxFor(row);
    const base = { message: row.messageId, recipient: row.recipient, mode: row.mode, outbox: row.id };
    const raw = o.reader.getRaw(row.messageId);
    if (!raw) {
      const at = now();
      await o.store.finish(row.id, { status: "skipped", at, error: "body-gone" }, { at, messageId: row.messageId, recipient: row.recipient, decision: "skipped", reason: "body-gone" });
      emit("delivery.skipped", ctx, { ...base, reason: "body-gone" });
      return;
    }
    if (raw.length > d.maxMessageBytes) {
      // Decided under a larger limit (the config changed since): the limit in force now wins.
      const at = now();
      await o.store.finish(row.id, { status: "skipped", at, error: "too-big" }, { at, messageId: row.messageId, recipient: row.recipient, decision: "skipped", reason: "too-big" });
      emit("delivery.skipped", ctx, { ...base, reason: "too-big" });
      return;
    }
    const data = Buffer.concat([Buffer.from(row.received, "utf8"), raw]);
    try {
      const res = await getTransport().send({ from: row.mailFrom, to: row.recipient, data });
      const at = now();
      await o.store.finish(row.id, { status: "sent", at, route: res.route, response: res.response }, { at, messageId: row.messageId, recipient: row.recipient, decision: "sent", reason: res.route });
      emit("delivery.sent", ctx, { ...base, attempts: attempt, route: res.route, response: res.response.slice(0, 200), size: data.length });
    } catch (err) {
      const e = err instanceof DeliveryError ? err : new DeliveryError((err as Error).message, false);
      const at = now();
      const error = e.message.slice(0, 500);
      if (e.refused) {
        await o.store.finish(row.id, { status: "skipped", at, error }, { at, messageId: row.messageId, recipient: row.recipient, decision: "skipped", reason: `destination-refused: ${error}` });
        emit("delivery.skipped", ctx, { ...base, reason: "destination-refused", error });
        return;
      }
      const final = e.permanent || attempt >= d.maxAttempts;
      const nextAttemptAt = final ? undefined : at + Math.min(d.retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      await o.store.finish(
        row.id,
        { status: final ? "failed" : "queued", at, error, ...(nextAttemptAt !== undefined ? { nextAttemptAt } : {}) },
        { at, messageId: row.messageId, recipient: row.recipient, decision: final ? "failed" : "retry", reason: error },
      );
      emit("delivery.failed", ctx, {
        ...base,
        attempts: attempt,
        error,
        permanent: e.permanent,
        will_retry: !final,
        retry_at: nextAttemptAt !== undefined ? new Date(nextAttemptAt).toISOString() : undefined,
      });
    }
  }

  return {
    start() {
      started = true;
    },
    kick,
    inFlight: () => pass,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    async settle(graceMs) {
      if (pass) await Promise.race([pass, new Promise((r) => setTimeout(r, graceMs).unref())]);
    },
  };
}
