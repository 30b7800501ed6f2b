// The intake of the delivery engine: runs the policy (policy.ts) on a stored message with the counters read from the
// store, and writes the outbox rows and the audit trail of the decision in one commit; the worker sends what it queued.
import type { Config } from "../config/schema.js";
import type { Dispatcher } from "../events/dispatcher.js";
import type { AuditRow, DeliveryStore, NewOutboxEntry, OutboxStatus } from "../store/delivery.js";
import { CAP_WINDOW_MS, decide, type Decision } from "./policy.js";
import { receivedHeader } from "./received.js";
import type { StoredMessageInfo } from "./types.js";

export interface DeliveryIntake {
  /** Decides a stored message: queued, dry-run or skipped rows (with their events); nothing for most messages. */
  consider(m: StoredMessageInfo): Promise<void>;
}

export interface DeliveryIntakeOptions {
  config: Config;
  hostname: string;
  store: DeliveryStore;
  events: Dispatcher;
  log: (line: string) => void;
  now: () => number;
  /** Called when rows were queued for sending (not in a dry run). */
  onQueued: () => void;
}

export function createDeliveryIntake(o: DeliveryIntakeOptions): DeliveryIntake {
  const d = o.config.delivery;

  /** Statuses that count against the caps: everything reserved, and dry-run rows while in a dry run. */
  const capStatuses = (): OutboxStatus[] => (d.dryRun ? ["queued", "sending", "sent", "failed", "dry-run"] : ["queued", "sending", "sent", "failed"]);

  async function consider(m: StoredMessageInfo): Promise<void> {
    const isTest = m.kind === "relay-test";
    const copies = m.kind === "spam" && d.enabled && d.dropboxCopies;
    if (!isTest && !copies) return;
    const known = copies ? o.store.knownDropboxes(m.rcptTo) : new Set<string>();
    if (copies && known.size === 0) return;
    const t = o.now();
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

    for (const s of decision.skipped) o.events.emit("delivery.skipped", m.ctx, { message: m.id, recipient: s.recipient ?? undefined, mode: decision.mode, reason: s.reason });
    entries.forEach((e, i) => {
      const id = ids[i];
      if (id === null || id === undefined) return; // already in the outbox: no duplicate
      if (decision.dryRun) {
        const where = d.smarthost ? `smarthost ${d.smarthost}` : `MX of ${e.recipient.slice(e.recipient.lastIndexOf("@") + 1)}`;
        o.log(`relaytrap: delivery dry run: would deliver message ${m.id} (${e.mode}) to <${e.recipient}> via ${where}`);
        o.events.emit("delivery.skipped", m.ctx, { message: m.id, recipient: e.recipient, mode: e.mode, reason: "dry-run", outbox: id });
      } else {
        o.events.emit("delivery.queued", m.ctx, { message: m.id, recipient: e.recipient, mode: e.mode, outbox: id });
      }
    });
    if (entries.length && !decision.dryRun) o.onQueued();
  }

  return { consider };
}
