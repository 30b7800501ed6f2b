// `relaytrap reanalyze`: runs the current analyzer over every stored message again (after a decoder change) and
// updates kind, verdict and has_html (filling it in for rows stored before migration 010). Uses its own connection;
// SQLite serialises it with a running sensor's writer.
import { join } from "node:path";
import Database from "./driver.js";
import type { Verdict } from "../../analysis/types.js";
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

export async function reanalyzeStore(
  dataDir: string,
  analyzeOne: (row: ReanalyzeRow) => Promise<Reanalysis>,
  onProgress?: (done: number) => void,
): Promise<{ messages: number; changed: number }> {
  const path = join(dataDir, DB_FILE);
  if (!existsSync(path)) throw new NoStoreError(`no relaytrap store at ${path}`);
  const db = new Database(path);
  db.pragma("busy_timeout = 10000");
  db.pragma("synchronous = FULL");
  migrate(db);
  const page = db.prepare(`SELECT m.id, m.src_ip, m.dest_ip, m.helo, m.mail_from, m.rcpt_to, m.kind, r.data FROM messages m
    JOIN message_raw r ON r.message_id = m.id WHERE m.id > ? ORDER BY m.id LIMIT ?`);
  const update = db.prepare("UPDATE messages SET kind = ?, verdict = ?, has_html = ? WHERE id = ?");
  let after = 0;
  let messages = 0;
  let changed = 0;
  try {
    for (;;) {
      const rows = page.all(after, REANALYZE_BATCH) as Array<Record<string, unknown>>;
      if (rows.length === 0) break;
      const updates: Array<[string, string, 0 | 1, number]> = [];
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
        updates.push([verdict.kind, JSON.stringify(verdict), hasHtml ? 1 : 0, r.id as number]);
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
  return { messages, changed };
}
