// `relaytrap reanalyze`: runs the current analyzer over every stored message again (after a decoder change) and
// updates kind, verdict, confidence and has_html (filling in has_html and confidence for rows stored before migrations
// 010 and 011), counting how many verdicts went up or down (none < possible < likely < certain). Uses its own connection;
// SQLite serialises it with a running sensor's writer.
import { join } from "node:path";
import Database from "./driver.js";
import type { Verdict } from "../../analysis/types.js";
import { compareLevels, verdictLevel, type VerdictLevel } from "../../analysis/explain.js";
import { DB_FILE, migrate } from "./db.js";
import { NoStoreError } from "./reader.js";
import { existsSync } from "node:fs";

/** Messages updated per transaction. */
const REANALYZE_BATCH = 200;

export interface ReanalyzeRow {
  id: number;
  raw: Buffer;
  srcIp: string;
  destIp: string;
  helo: string | null;
  mailFrom: string | null;
  rcptTo: string[];
}

/** What reanalyzing one message rewrites. */
export interface Reanalysis {
  verdict: Verdict;
  hasHtml: boolean;
}

export interface ReanalyzeSummary {
  messages: number;
  /** Messages whose kind changed. */
  changed: number;
  /** Verdicts that went up (e.g. possible -> certain) or down. */
  up: number;
  down: number;
  /** Messages per level, before and after. */
  before: Partial<Record<VerdictLevel, number>>;
  after: Partial<Record<VerdictLevel, number>>;
  /** "before -> after" transitions and their counts (changed levels only). */
  moves: Record<string, number>;
}

export async function reanalyzeStore(
  dataDir: string,
  analyzeOne: (row: ReanalyzeRow) => Promise<Reanalysis>,
  onProgress?: (done: number) => void,
): Promise<ReanalyzeSummary> {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) throw new NoStoreError(`no relaytrap store at ${path}`);
  const db = new Database(path);
  db.pragma("busy_timeout = 10000");
  db.pragma("synchronous = FULL");
  migrate(db);
  const page = db.prepare(`SELECT m.id, m.src_ip, m.dest_ip, m.helo, m.mail_from, m.rcpt_to, m.kind, m.confidence, r.data FROM messages m
    JOIN message_raw r ON r.message_id = m.id WHERE m.id > ? ORDER BY m.id LIMIT ?`);
  const update = db.prepare("UPDATE messages SET kind = ?, verdict = ?, has_html = ?, confidence = ? WHERE id = ?");
  let after = 0;
  let messages = 0;
  let changed = 0;
  const sum: ReanalyzeSummary = { messages: 0, changed: 0, up: 0, down: 0, before: {}, after: {}, moves: {} };
  try {
    for (;;) {
      const rows = page.all(after, REANALYZE_BATCH) as Array<Record<string, unknown>>;
      if (rows.length === 0) break;
      const updates: Array<[string, string, 0 | 1, string | null, number]> = [];
      for (const r of rows) {
        const { verdict, hasHtml } = await analyzeOne({
          id: r.id as number,
          raw: r.data as Buffer,
          srcIp: r.src_ip as string,
          destIp: r.dest_ip as string,
          helo: (r.helo as string | null) ?? null,
          mailFrom: (r.mail_from as string | null) ?? null,
          rcptTo: JSON.parse(r.rcpt_to as string) as string[],
        });
        if (verdict.kind !== r.kind) changed++;
        const was = verdictLevel(r.kind as string, (r.confidence as string | null) ?? null);
        const now = verdictLevel(verdict.kind, verdict.confidence);
        sum.before[was] = (sum.before[was] ?? 0) + 1;
        sum.after[now] = (sum.after[now] ?? 0) + 1;
        const d = compareLevels(was, now);
        if (d > 0) sum.up++;
        else if (d < 0) sum.down++;
        if (was !== now) sum.moves[`${was} -> ${now}`] = (sum.moves[`${was} -> ${now}`] ?? 0) + 1;
        updates.push([verdict.kind, JSON.stringify(verdict), hasHtml ? 1 : 0, verdict.confidence ?? null, r.id as number]);
      }
      db.transaction(() => {
        for (const u of updates) update.run(...u);
      })();
      messages += rows.length;
      after = rows[rows.length - 1]!.id as number;
      onProgress?.(messages);
    }
  } finally {
    db.close();
  }
  return { ...sum, messages, changed };
}
