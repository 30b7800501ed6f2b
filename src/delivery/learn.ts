// Dropbox learning: every stored certain relay test names its dropboxes, every spam run its recipients. Dropboxes are
// written at once; spam recipients are counted in memory and written in one batch (flush()), by a timer or when many.
import type { Config } from "../config/schema.js";
import { isActionable } from "../analysis/confidence.js";
import type { DeliveryStore, RecipientSighting } from "../store/delivery.js";
import { MAX_SIGHTING_RECIPIENTS } from "../store/sqlite/dropboxes.js";
import type { Fail, StoredMessageInfo } from "./types.js";

/** Spam recipients are counted in memory and written every this often (or when MAX_PENDING_RECIPIENTS is reached). */
export const LEARN_FLUSH_MS = 5000;
export const MAX_PENDING_RECIPIENTS = 20_000;

export interface DropboxLearner {
  /** Records what one stored message teaches; spam recipients wait for the next flush. */
  learn(m: StoredMessageInfo): Promise<void>;
  /** Writes the spam recipients counted so far (a failure is logged, not thrown). */
  flush(): Promise<void>;
}

export interface DropboxLearnerOptions {
  config: Config["dropboxes"];
  store: DeliveryStore;
  fail: Fail;
}

export function createDropboxLearner(o: DropboxLearnerOptions): DropboxLearner {
  const rule = () => ({ minMessages: o.config.recurringMinMessages, minSources: o.config.recurringMinSources });

  /** Spam recipients seen since the last flush, by recipient and source: counted here, written in one batch. */
  let pendingRecipients = new Map<string, RecipientSighting>();

  function flush(): Promise<void> {
    if (pendingRecipients.size === 0) return Promise.resolve();
    const batch = [...pendingRecipients.values()];
    pendingRecipients = new Map();
    return o.store.recordRecipients(batch, rule()).catch(o.fail("counting spam recipients"));
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
    if (pendingRecipients.size >= MAX_PENDING_RECIPIENTS) await flush();
  }

  return { learn, flush };
}
