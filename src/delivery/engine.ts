// The delivery engine: learns dropboxes and recipient counts from every stored message, runs the policy on delivery
// candidates, keeps the durable outbox, and a worker loop that sends due rows (timeout, retries with backoff).
// Everything here runs off the SMTP path: onStored() returns at once, a failure is logged, never thrown at a session.
import type { Config } from "../config/schema.js";
import { isActionable } from "../analysis/confidence.js";
import type { EventId } from "../events/catalog.js";
import type { Dispatcher, EventContext } from "../events/dispatcher.js";
import { parseHostPort } from "../net/address.js";
import { createOutbound } from "../net/outbound.js";
import type { AuditRow, DeliveryStore, NewOutboxEntry, OutboxRow, OutboxStatus, RecipientSighting } from "../store/delivery.js";
import { MAX_SIGHTING_RECIPIENTS } from "../store/sqlite/delivery.js";
import type { StoredKind, StoreReader } from "../store/types.js";
import type { Verdict } from "../analysis/types.js";
import { CAP_WINDOW_MS, decide, type Decision } from "./policy.js";
import { receivedHeader } from "./received.js";
import { createTransport, DeliveryError, type Transport } from "./transport.js";

/** Outbox rows handled per worker pass. */
const DUE_BATCH = 10;
/** After a crash, relay tests received this long ago or less that have no decision yet are decided at start. */
export const CATCHUP_WINDOW_MS = 3_600_000;
/** Queued deliveries older than this are dropped, not sent late (e.g. after a long kill-switch pause). */
export const MAX_QUEUE_AGE_MS = CAP_WINDOW_MS;
/** Longest wait between two attempts. */
export const MAX_RETRY_DELAY_MS = 6 * 3_600_000;
const EXPIRY_INTERVAL_MS = 3_600_000;
/** Spam recipients are counted in memory and written every this often (or when MAX_PENDING_RECIPIENTS is reached). */
export const LEARN_FLUSH_MS = 5000;
export const MAX_PENDING_RECIPIENTS = 20_000;
const DAY_MS = 86_400_000;

export interface StoredMessageInfo {
  id: number;
  queueId: string;
  receivedAt: number;
  srcIp: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
  kind: StoredKind;
  verdict: Verdict | null;
  bodyStored: boolean;
  /** Size of the stored message in bytes. */
  size: number;
  /** Whether the parse found an HTML part; null when unknown (the parse failed or predates the column). */
  hasHtml: boolean | null;
  /** Attachments the parse found; null when unknown (the parse failed). */
  attachments: number | null;
  /** What the session knew about the client when the message came in (for the Received header). */
  rdns: string | null;
  esmtp: boolean;
  tls: boolean;
  ctx: EventContext;
}

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

export function createDeliveryEngine(o: DeliveryEngineOptions): DeliveryEngine {
  const d = o.config.delivery;
  const now = o.now ?? Date.now;
  const ownIps = [...o.config.sensorIps, ...o.config.smtpListen.map((hp) => parseHostPort(hp)?.host ?? "").filter((h) => h !== "")];
  let transport: Transport | null = o.transport ?? null;
  const getTransport = (): Transport =>
    (transport ??= createTransport({
      outbound: createOutbound({ smarthost: d.smarthost ?? null, allowPrivateMx: d.allowPrivateMx, refuseIps: ownIps, timeoutMs: d.timeoutMs }),
      name: o.hostname,
      timeoutMs: d.timeoutMs,
    }));

  let chain: Promise<void> = Promise.resolve();
  let pass: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let expiryTimer: NodeJS.Timeout | null = null;
  let learnTimer: NodeJS.Timeout | null = null;
  let started = false;
  let stopped = false;

  const emit = (id: EventId, ctx: EventContext, fields: Record<string, unknown>) => o.events.emit(id, ctx, fields);
  const fail = (what: string) => (err: unknown) => o.log(`relaytrap: delivery: ${what}: ${(err as Error).message}`);

  /** Statuses that count against the caps: everything reserved, and dry-run rows while in a dry run. */
  const capStatuses = (): OutboxStatus[] => (d.dryRun ? ["queued", "sending", "sent", "failed", "dry-run"] : ["queued", "sending", "sent", "failed"]);

  /** The kill switch: config wins, then the persisted switch (read fresh every time). */
  const allowed = (): boolean => d.enabled && !stopped && o.store.switchState() === "on";

  const rule = () => ({ minMessages: o.config.dropboxes.recurringMinMessages, minSources: o.config.dropboxes.recurringMinSources });

  /** Spam recipients seen since the last flush, by recipient and source: counted here, written in one batch. */
  let pendingRecipients = new Map<string, RecipientSighting>();

  function flushRecipients(): Promise<void> {
    if (pendingRecipients.size === 0) return Promise.resolve();
    const batch = [...pendingRecipients.values()];
    pendingRecipients = new Map();
    return o.store.recordRecipients(batch, rule()).catch(fail("counting spam recipients"));
  }

  async function learn(m: StoredMessageInfo): Promise<void> {
    // dropboxes are learned from certain relay tests only: a likely one may name an innocent address (issue 15)
    const isTest = m.kind === "relay-test" && isActionable(m.verdict);
    if (isTest && m.verdict?.dropboxes.length) {
      await o.store.recordSighting(
        { at: m.receivedAt, srcIp: m.srcIp, dropboxes: m.verdict.dropboxes, tester: m.verdict.tester ?? null, recipients: [] },
        rule(),
      );
    }
    if (m.kind !== "spam") return;
    for (const address of new Set(m.rcptTo.slice(0, MAX_SIGHTING_RECIPIENTS).map((r) => r.toLowerCase()))) {
      const key = `${address}\u0000${m.srcIp}`;
      const p = pendingRecipients.get(key);
      if (p) {
        p.messages++;
        p.first = Math.min(p.first, m.receivedAt);
        p.last = Math.max(p.last, m.receivedAt);
      } else pendingRecipients.set(key, { address, srcIp: m.srcIp, messages: 1, first: m.receivedAt, last: m.receivedAt });
    }
    if (pendingRecipients.size >= MAX_PENDING_RECIPIENTS) await flushRecipients();
  }

  async function consider(m: StoredMessageInfo): Promise<void> {
    const isTest = m.kind === "relay-test";
    const copies = m.kind === "spam" && d.enabled && d.dropboxCopies;
    if (!isTest && !copies) return;
    const known = copies ? o.store.knownDropboxes(m.rcptTo) : new Set<string>();
    if (copies && known.size === 0) return;
    const t = now();
    const switchOn = o.store.switchState() === "on";
    const counters =
      d.enabled && switchOn
        ? o.store.counters(t - CAP_WINDOW_MS, m.srcIp, capStatuses())
        : { total: 0, perSource: 0, perRecipient: new Map<string, number>() };
    const decision: Decision = decide({
      message: {
        id: m.id,
        kind: m.kind,
        verdict: m.verdict,
        rcptTo: m.rcptTo,
        srcIp: m.srcIp,
        bodyStored: m.bodyStored,
        size: m.size,
        hasHtml: m.hasHtml,
        attachments: m.attachments,
      },
      config: d,
      switchOn,
      knownDropboxes: known,
      counters,
    });
    if (decision.mode === null) return;

    const received = receivedHeader({
      persona: o.config.persona,
      hostname: o.hostname,
      helo: m.helo,
      clientIp: m.srcIp,
      rdns: m.rdns,
      esmtp: m.esmtp,
      tls: m.tls,
      queueId: m.queueId,
      mailFrom: m.mailFrom ?? "",
      rcptTo: m.rcptTo,
      receivedAt: m.receivedAt,
    });
    const entries: NewOutboxEntry[] = decision.deliver.map((recipient) => ({
      messageId: m.id,
      recipient,
      mode: decision.mode!,
      status: decision.dryRun ? "dry-run" : "queued",
      srcIp: m.srcIp,
      sessionId: m.ctx.session,
      mailFrom: m.mailFrom ?? "",
      received,
      createdAt: t,
    }));
    const audit: AuditRow[] = [
      ...decision.deliver.map((recipient) => ({ at: t, messageId: m.id, recipient, decision: decision.dryRun ? "dry-run" : "queued", reason: decision.mode })),
      ...decision.skipped.map((s) => ({ at: t, messageId: m.id, recipient: s.recipient, decision: "skipped", reason: s.reason })),
    ];
    const ids = await o.store.enqueue(entries, audit);

    for (const s of decision.skipped) emit("delivery.skipped", m.ctx, { message: m.id, recipient: s.recipient ?? undefined, mode: decision.mode, reason: s.reason });
    entries.forEach((e, i) => {
      const id = ids[i];
      if (id === null || id === undefined) return; // already in the outbox: no duplicate
      if (decision.dryRun) {
        const where = d.smarthost ? `smarthost ${d.smarthost}` : `MX of ${e.recipient.slice(e.recipient.lastIndexOf("@") + 1)}`;
        o.log(`relaytrap: delivery dry run: would deliver message ${m.id} (${e.mode}) to <${e.recipient}> via ${where}`);
        emit("delivery.skipped", m.ctx, { message: m.id, recipient: e.recipient, mode: e.mode, reason: "dry-run", outbox: id });
      } else {
        emit("delivery.queued", m.ctx, { message: m.id, recipient: e.recipient, mode: e.mode, outbox: id });
      }
    });
    if (entries.length && !decision.dryRun) kick();
  }

  // ---- the worker ----------------------------------------------------------------------------------------------

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
      .catch(fail("worker"))
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

  // ---- catch-up and expiry -------------------------------------------------------------------------------------

  async function catchUp(): Promise<void> {
    for (const id of o.store.undecidedMessages("relay-test", now() - CATCHUP_WINDOW_MS, 100)) {
      const m = o.reader.getMessage(id);
      if (!m) continue;
      const s = o.reader.getSession(m.sessionId);
      await consider({
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
      });
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
        .then(() => learn(m).catch(fail(`learning dropboxes from message ${m.id}`)))
        .then(() => consider(m))
        .catch(fail(`deciding message ${m.id}`));
    },

    async start() {
      started = true;
      await expire();
      expiryTimer = setInterval(() => void expire(), EXPIRY_INTERVAL_MS);
      expiryTimer.unref();
      learnTimer = setInterval(() => void (chain = chain.then(flushRecipients)), LEARN_FLUSH_MS);
      learnTimer.unref();
      if (!d.enabled) return;
      const n = await o.store.requeueInterrupted(now());
      if (n) o.log(`relaytrap: delivery: ${n} interrupted deliveries queued again`);
      chain = chain.then(() => catchUp()).catch(fail("catching up"));
      await chain;
      kick();
    },

    async idle() {
      chain = chain.then(flushRecipients);
      for (;;) {
        const c = chain;
        await c;
        if (pass) await pass;
        if (c === chain && !pass) return;
      }
    },

    async close() {
      stopped = true;
      if (learnTimer) clearInterval(learnTimer);
      await (chain = chain.then(flushRecipients));
      if (timer) clearTimeout(timer);
      if (expiryTimer) clearInterval(expiryTimer);
      await chain;
      // A send in progress gets a moment to finish; past that its row stays 'sending' and is queued again at start.
      if (pass) await Promise.race([pass, new Promise((r) => setTimeout(r, Math.min(d.timeoutMs, 5000)).unref())]);
    },
  };
}
