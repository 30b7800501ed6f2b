// The delivery engine: learns dropboxes and recipient counts from every stored message (learn.ts), runs the policy on
// delivery candidates and keeps the durable outbox (intake.ts), and a worker that sends due rows (worker.ts).
// Everything here runs off the SMTP path: onStored() returns at once, a failure is logged, never thrown at a session.
import type { Config } from "../config/schema.js";
import type { Dispatcher } from "../events/dispatcher.js";
import type { DeliveryStore } from "../store/delivery.js";
import type { StoreReader } from "../store/types.js";
import { createDeliveryIntake } from "./intake.js";
import { createDropboxLearner, LEARN_FLUSH_MS } from "./learn.js";
import type { Transport } from "./transport.js";
import type { Fail, StoredMessageInfo } from "./types.js";
import { createDeliveryWorker } from "./worker.js";

/** After a crash, relay tests received this long ago or less that have no decision yet are decided at start. */
export const CATCHUP_WINDOW_MS = 3_600_000;
/** Relay tests decided per catch-up at start. */
const CATCHUP_BATCH = 100;
const EXPIRY_INTERVAL_MS = 3_600_000;
/** Longest a send in progress may hold up close(). */
const CLOSE_GRACE_MS = 5000;
const DAY_MS = 86_400_000;

export interface DeliveryEngine {
  /** Called after a message is durably stored; never throws, never waits. */
  onStored(m: StoredMessageInfo): void;
  start(): Promise<void>;
  /** Resolves once pending decisions and the worker pass in progress are done (tests, shutdown). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface DeliveryEngineOptions {
  config: Config;
  hostname: string;
  store: DeliveryStore;
  reader: StoreReader;
  events: Dispatcher;
  log: (line: string) => void;
  /** Tests may pass a fake; by default nodemailer over net/outbound.ts. */
  transport?: Transport;
  now?: () => number;
}

/** A stored message as onStored() would have been told about it, rebuilt from the store (for the catch-up). */
function storedMessageInfo(reader: StoreReader, id: number): StoredMessageInfo | null {
  const m = reader.getMessage(id);
  if (!m) return null;
  const s = reader.getSession(m.sessionId);
  return {
    id,
    queueId: m.queueId,
    receivedAt: m.receivedAt,
    srcIp: m.srcIp,
    helo: m.helo,
    mailFrom: m.mailFrom,
    rcptTo: m.rcptTo,
    kind: m.kind,
    verdict: m.verdict,
    bodyStored: m.bodyStored,
    size: m.size,
    hasHtml: m.parseError ? null : m.hasHtml,
    attachments: m.parseError ? null : m.attachments.length,
    rdns: s?.rdns ?? null,
    esmtp: s ? s.transcript.some((l) => l.dir === "c" && /^ehlo\b/i.test(l.line)) : true,
    tls: s ? s.tls !== null : false,
    ctx: { session: m.sessionId, protocol: "smtp", src_ip: m.srcIp, src_port: m.srcPort, dest_ip: m.destIp, dest_port: m.destPort },
  };
}

export function createDeliveryEngine(o: DeliveryEngineOptions): DeliveryEngine {
  const d = o.config.delivery;
  const now = o.now ?? Date.now;
  const fail: Fail = (what) => (err) => o.log(`relaytrap: delivery: ${what}: ${(err as Error).message}`);
  const learner = createDropboxLearner({ config: o.config.dropboxes, store: o.store, fail });
  const worker = createDeliveryWorker({ ...o, fail, now });
  const intake = createDeliveryIntake({ ...o, now, onQueued: () => worker.kick() });

  let chain: Promise<void> = Promise.resolve();
  let expiryTimer: NodeJS.Timeout | null = null;
  let learnTimer: NodeJS.Timeout | null = null;
  let stopped = false;

  async function catchUp(): Promise<void> {
    for (const id of o.store.undecidedMessages("relay-test", now() - CATCHUP_WINDOW_MS, CATCHUP_BATCH)) {
      const m = storedMessageInfo(o.reader, id);
      if (m) await intake.consider(m);
    }
  }

  function expire(): Promise<void> {
    const t = now();
    const maxAge = o.config.storage.maxAgeDays;
    return o.store
      .expire({
        addressesBefore: t - o.config.dropboxes.expireDays * DAY_MS,
        historyBefore: maxAge > 0 ? t - Math.max(maxAge, 2) * DAY_MS : null,
      })
      .catch(fail("expiring dropboxes"));
  }

  return {
    onStored(m) {
      if (stopped) return;
      chain = chain
        .then(() => learner.learn(m).catch(fail(`learning dropboxes from message ${m.id}`)))
        .then(() => intake.consider(m))
        .catch(fail(`deciding message ${m.id}`));
    },

    async start() {
      worker.start();
      await expire();
      expiryTimer = setInterval(() => void expire(), EXPIRY_INTERVAL_MS);
      expiryTimer.unref();
      learnTimer = setInterval(() => void (chain = chain.then(learner.flush)), LEARN_FLUSH_MS);
      learnTimer.unref();
      if (!d.enabled) return;
      const n = await o.store.requeueInterrupted(now());
      if (n) o.log(`relaytrap: delivery: ${n} interrupted deliveries queued again`);
      chain = chain.then(() => catchUp()).catch(fail("catching up"));
      await chain;
      worker.kick();
    },

    async idle() {
      chain = chain.then(learner.flush);
      for (;;) {
        const c = chain;
        await c;
        const pass = worker.inFlight();
        if (pass) await pass;
        if (c === chain && !worker.inFlight()) return;
      }
    },

    async close() {
      stopped = true;
      worker.stop();
      if (learnTimer) clearInterval(learnTimer);
      await (chain = chain.then(learner.flush));
      if (expiryTimer) clearInterval(expiryTimer);
      await chain;
      // A send in progress gets a moment to finish; past that its row stays 'sending' and is queued again at start.
      await worker.settle(Math.min(d.timeoutMs, CLOSE_GRACE_MS));
    },
  };
}
