// Spam campaigns: messages grouped when they share a dropbox (recipient) set, a subject template or a body hash within
// a time window. Pure: message summaries in, groups out; the web layer reads the summaries and shows the groups.
import { createHash } from "node:crypto";

/** Two messages sharing a key are joined only when they arrived at most this far apart (a chain may run longer). */
export const CAMPAIGN_WINDOW_MS = 24 * 3_600_000;
/** A group of fewer messages is no campaign. */
export const MIN_CAMPAIGN_MESSAGES = 2;
/** A subject template shorter than this ("hi", "re: #") says nothing about who sent it and joins nothing. */
const MIN_TEMPLATE_CHARS = 8;
/** A body shorter than this (after whitespace is collapsed) joins nothing either. */
const MIN_BODY_CHARS = 16;
/** Examples kept per campaign (subjects, recipients, sources shown on its page). */
const MAX_EXAMPLES = 20;

export interface CampaignInput {
  id: number;
  receivedAt: number;
  srcIp: string;
  rcptTo: string[];
  subject: string | null;
  /** The text body (or its first part), hashed after whitespace is collapsed; null when none was kept. */
  text: string | null;
}

export interface Campaign {
  /** The id of its first message: stable while that message is in the window. */
  id: number;
  messages: number;
  sources: number;
  firstSeen: number;
  lastSeen: number;
  /** What joined its messages: how many of them share the commonest dropbox set, template, body. */
  keys: { rcptSet: number; subjectTemplate: number; body: number };
  /** The commonest subject template. */
  template: string | null;
  subjects: string[];
  recipients: Array<{ address: string; messages: number }>;
  srcIps: Array<{ ip: string; messages: number }>;
  messageIds: number[];
}

/** The subject with what varies between copies of one run replaced: addresses, the recipient's name, hex ids and
 * numbers, the word after a greeting. */
export function subjectTemplate(subject: string, rcptTo: readonly string[] = []): string {
  let s = subject.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
  s = s.replace(/[^\s@<>"]+@[^\s@<>"]+/g, "{email}");
  const names = new Set<string>();
  for (const r of rcptTo) {
    const local = r.toLowerCase().split("@")[0] ?? "";
    if (local.length >= 3) names.add(local);
    for (const part of local.split(/[._+-]+/)) if (part.length >= 3) names.add(part);
  }
  for (const n of [...names].sort((a, b) => b.length - a.length)) s = s.split(n).join("{name}");
  s = s.replace(/\b(dear|hi|hello|hey|attn:?)\s+[\p{L}'-]+/gu, "$1 {name}");
  s = s.replace(/\b(?=[0-9a-f-]*\d)(?=[0-9a-f-]*[a-f])[0-9a-f-]{6,}\b/g, "{id}");
  s = s.replace(/\d+(?:[.,:/-]\d+)*/g, "#");
  return s;
}

/** sha256 of the text body with whitespace collapsed, or null when too short to tell anything. */
export function bodyHash(text: string | null): string | null {
  if (text === null) return null;
  const t = text.replace(/\s+/g, " ").trim();
  if (t.length < MIN_BODY_CHARS) return null;
  return createHash("sha256").update(t).digest("hex");
}

function top<K>(counts: Map<K, number>): Array<[K, number]> {
  return [...counts].sort((a, b) => b[1] - a[1]);
}

/** Groups messages into campaigns (largest first). Keys link messages in arrival order within `windowMs`. */
export function groupCampaigns(input: readonly CampaignInput[], opts: { windowMs?: number; minMessages?: number } = {}): Campaign[] {
  const windowMs = opts.windowMs ?? CAMPAIGN_WINDOW_MS;
  const minMessages = opts.minMessages ?? MIN_CAMPAIGN_MESSAGES;
  const msgs = [...input].sort((a, b) => a.receivedAt - b.receivedAt || a.id - b.id);
  const parent = msgs.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  const keysOf = msgs.map((m) => {
    const rcpt = [...new Set(m.rcptTo.map((r) => r.toLowerCase()))].sort().join(",");
    const tpl = m.subject === null ? null : subjectTemplate(m.subject, m.rcptTo);
    const body = bodyHash(m.text);
    return {
      rcpt: rcpt === "" ? null : `r:${rcpt}`,
      tpl: tpl !== null && tpl.replace(/[{}#\s]|name|id|email/g, "").length >= MIN_TEMPLATE_CHARS ? `s:${tpl}` : null,
      tplText: tpl,
      body: body === null ? null : `b:${body}`,
    };
  });
  // each key remembers the last message that carried it
  const last = new Map<string, number>();
  msgs.forEach((m, i) => {
    const k = keysOf[i]!;
    for (const key of [k.rcpt, k.tpl, k.body]) {
      if (key === null) continue;
      const j = last.get(key);
      if (j !== undefined && m.receivedAt - msgs[j]!.receivedAt <= windowMs) union(i, j);
      last.set(key, i);
    }
  });
  const groups = new Map<number, number[]>();
  msgs.forEach((_, i) => {
    const r = find(i);
    let g = groups.get(r);
    if (!g) groups.set(r, (g = []));
    g.push(i);
  });
  const out: Campaign[] = [];
  for (const idx of groups.values()) {
    if (idx.length < minMessages) continue;
    const count = <K>(f: (i: number) => K | K[] | null) => {
      const m = new Map<K, number>();
      for (const i of idx) {
        const v = f(i);
        for (const x of v === null ? [] : Array.isArray(v) ? v : [v]) m.set(x, (m.get(x) ?? 0) + 1);
      }
      return top(m);
    };
    const rcptSets = count((i) => keysOf[i]!.rcpt);
    const tpls = count((i) => keysOf[i]!.tpl);
    const bodies = count((i) => keysOf[i]!.body);
    const templates = count((i) => keysOf[i]!.tplText);
    const ips = count((i) => msgs[i]!.srcIp);
    const rcpts = count((i) => [...new Set(msgs[i]!.rcptTo.map((r) => r.toLowerCase()))]);
    const subjects = count((i) => msgs[i]!.subject);
    const first = msgs[idx[0]!]!;
    out.push({
      id: Math.min(...idx.map((i) => msgs[i]!.id)),
      messages: idx.length,
      sources: ips.length,
      firstSeen: first.receivedAt,
      lastSeen: msgs[idx[idx.length - 1]!]!.receivedAt,
      keys: { rcptSet: rcptSets[0]?.[1] ?? 0, subjectTemplate: tpls[0]?.[1] ?? 0, body: bodies[0]?.[1] ?? 0 },
      template: templates[0]?.[0] ?? null,
      subjects: subjects.slice(0, MAX_EXAMPLES).map(([s]) => s),
      recipients: rcpts.slice(0, MAX_EXAMPLES).map(([address, messages]) => ({ address, messages })),
      srcIps: ips.slice(0, MAX_EXAMPLES).map(([ip, messages]) => ({ ip, messages })),
      messageIds: idx.map((i) => msgs[i]!.id).sort((a, b) => b - a),
    });
  }
  out.sort((a, b) => b.messages - a.messages || b.lastSeen - a.lastSeen);
  return out;
}
