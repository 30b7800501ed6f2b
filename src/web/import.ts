// `relaytrap import`: reads old trapped mail (mbox, Maildir, a directory of .eml files, one .eml), keeps each message's
// original date (topmost Received, else Date) so history shows in the graphs, analyses it like live mail and stores it.
// Idempotent: a message whose exact bytes (sha256) are already stored is skipped.
import { closeSync, createReadStream, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { isIP } from "node:net";
import { sha256Hex } from "../analysis/parse.js";
import { normalizeIp } from "../net/address.js";
import { openSqliteReader } from "../store/sqlite/reader.js";
import { hasSha256 } from "../store/sqlite/web.js";
import { openSqliteWriter } from "../store/sqlite/writer.js";
import { createIngest, IN_THREAD } from "../ingest.js";

/** Messages larger than this are skipped (counted as failed): the sensor would not have accepted them either. */
export const MAX_IMPORT_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Store writes in flight at once (they are group-committed by the writer). */
const IMPORT_CONCURRENCY = 64;

export interface ImportCounts {
  read: number;
  imported: number;
  duplicates: number;
  failed: number;
  relayTests: number;
  spam: number;
  other: number;
  /** Imported messages received before ImportOptions.olderThan (storage.maxAgeDays ago). */
  pastMaxAge: number;
}

export interface ImportOptions {
  dataDir: string;
  sensorIps?: string[];
  /** The sensor's host names (role mail to them is no relay test). */
  sensorNames?: string[];
  /** Called now and then with the counts so far (a progress bar on a TTY). */
  onProgress?: (c: ImportCounts) => void;
  now?: () => number;
  /** storage.maxAgeDays ago (null: no age limit): imported messages received before it are counted in pastMaxAge. */
  olderThan?: number | null;
}

interface Item {
  raw: Buffer;
  /** Envelope sender from an mbox "From " line. */
  envFrom: string | null;
  /** File modification time, the last-resort date. */
  mtime: number | null;
}

// ---------- sources

/** Splits an mbox (mboxo/mboxrd) into messages, streaming; ">From " quoting is undone one level. */
export async function* readMbox(path: string): AsyncGenerator<Item> {
  let lines: Buffer[] = [];
  let envFrom: string | null = null;
  let started = false;
  let rest = Buffer.alloc(0);
  let prevBlank = true;
  const flush = (): Item | null => {
    if (!started) return null;
    // The blank line before the next "From " belongs to the mbox format, not the message.
    if (lines.length && lines[lines.length - 1]!.length <= 2 && /^\r?\n$/.test(lines[lines.length - 1]!.toString("latin1"))) lines.pop();
    const raw = Buffer.concat(lines);
    lines = [];
    return { raw, envFrom, mtime: null };
  };
  const take = (line: Buffer): Item | null => {
    const isFrom = line.length >= 5 && line.subarray(0, 5).toString("latin1") === "From ";
    const blank = /^\r?\n?$/.test(line.toString("latin1"));
    let out: Item | null = null;
    if (isFrom && prevBlank) {
      out = flush();
      started = true;
      const m = /^From (\S+)/.exec(line.toString("latin1"));
      envFrom = m && m[1] !== "MAILER-DAEMON" ? m[1]!.replace(/^<|>$/g, "") : null;
    } else if (started) {
      const s = line.subarray(0, Math.min(line.length, 64)).toString("latin1");
      lines.push(/^>+From /.test(s) ? line.subarray(1) : line);
    }
    prevBlank = blank;
    return out;
  };
  for await (const chunk of createReadStream(path)) {
    let buf = Buffer.concat([rest, chunk as Buffer]);
    let nl: number;
    while ((nl = buf.indexOf(0x0a)) !== -1) {
      const item = take(buf.subarray(0, nl + 1));
      buf = buf.subarray(nl + 1);
      if (item) yield item;
    }
    rest = Buffer.from(buf);
  }
  if (rest.length) {
    const item = take(rest);
    if (item) yield item;
  }
  const last = flush();
  if (last) yield last;
}

function isMbox(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(5);
    return readSync(fd, head, 0, 5, 0) === 5 && head.toString("latin1") === "From ";
  } finally {
    closeSync(fd);
  }
}

function* walkFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".")) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* walkFiles(p);
    else if (st.isFile()) yield p;
  }
}

/** Every message under PATH, whatever the layout. */
export async function* readArchive(path: string): AsyncGenerator<Item> {
  const st = statSync(path);
  if (st.isFile()) {
    if (isMbox(path)) yield* readMbox(path);
    else yield { raw: readFileSync(path), envFrom: null, mtime: st.mtimeMs };
    return;
  }
  const maildir = ["cur", "new"].filter((d) => {
    try {
      return statSync(join(path, d)).isDirectory();
    } catch {
      return false;
    }
  });
  const files = maildir.length ? maildir.flatMap((d) => [...walkFiles(join(path, d))]) : [...walkFiles(path)];
  for (const f of files) {
    const fst = statSync(f);
    if (fst.size > MAX_IMPORT_MESSAGE_BYTES) {
      yield { raw: Buffer.alloc(0), envFrom: null, mtime: null };
      continue;
    }
    if (!maildir.length && isMbox(f)) yield* readMbox(f);
    else yield { raw: readFileSync(f), envFrom: null, mtime: fst.mtimeMs };
  }
}

// ---------- header facts

function headerBlock(raw: Buffer): string {
  const s = raw.subarray(0, 256 * 1024).toString("latin1");
  const end = s.search(/\r?\n\r?\n/);
  return (end === -1 ? s : s.slice(0, end)).replace(/\r?\n[ \t]+/g, " ");
}

function headers(raw: Buffer, name: string): string[] {
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, "gim");
  return [...headerBlock(raw).matchAll(re)].map((m) => m[1]!.trim());
}

const MIN_DATE = Date.UTC(1990, 0, 1);

/** The time the trap received the message: the topmost Received stamp, else the Date header, else the file time. */
export function originalDate(raw: Buffer, fallback: number | null, now: number): number {
  const plausible = (t: number) => Number.isFinite(t) && t >= MIN_DATE && t <= now + 86_400_000;
  for (const r of headers(raw, "received")) {
    const i = r.lastIndexOf(";");
    if (i === -1) continue;
    const t = Date.parse(r.slice(i + 1).trim().replace(/\s*\([^)]*\)\s*$/, ""));
    if (plausible(t)) return t;
  }
  const d = headers(raw, "date")[0];
  if (d !== undefined) {
    const t = Date.parse(d.replace(/\s*\([^)]*\)\s*$/, ""));
    if (plausible(t)) return t;
  }
  return fallback !== null && plausible(fallback) ? fallback : now;
}

/** The client address in the topmost Received header ("from x ([192.0.2.7])"), or null. */
export function receivedFromIp(raw: Buffer): string | null {
  const r = headers(raw, "received")[0];
  if (!r) return null;
  for (const m of r.matchAll(/\[(?:IPv6:)?([0-9A-Fa-f.:]+)\]/g)) if (isIP(m[1]!) !== 0) return normalizeIp(m[1]!);
  const bare = /\bfrom\s+\S+\s+\(\S*\s*\[?(\d{1,3}(?:\.\d{1,3}){3})\]?\)/i.exec(r);
  return bare && isIP(bare[1]!) ? bare[1]! : null;
}

function addrs(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) for (const m of v.matchAll(/<?([^\s<>,;"]+@[^\s<>,;"]+)>?/g)) out.push(m[1]!);
  return [...new Set(out)];
}

function envelopeOf(raw: Buffer, envFrom: string | null): { mailFrom: string | null; rcptTo: string[]; helo: string | null } {
  const rp = addrs(headers(raw, "return-path"))[0] ?? null;
  const rcpt = addrs([...headers(raw, "x-original-to"), ...headers(raw, "envelope-to"), ...headers(raw, "delivered-to")]);
  const to = rcpt.length ? rcpt : addrs([...headers(raw, "to"), ...headers(raw, "cc")]);
  const helo = /^from\s+(\S+)/i.exec(headers(raw, "received")[0] ?? "")?.[1] ?? null;
  return { mailFrom: envFrom ?? rp, rcptTo: to.slice(0, 1000), helo };
}

// ---------- the import

export async function importArchive(path: string, o: ImportOptions): Promise<ImportCounts> {
  const now = o.now ?? Date.now;
  const writer = await openSqliteWriter(o.dataDir);
  const reader = openSqliteReader(o.dataDir);
  // Analysed like live mail, on the one path; history has no cutoff, no events, no delivery. Pruning by age goes by
  // imported_at (storage.pruneImported), not by the original date kept as the received time.
  const ingest = createIngest({
    analysis: IN_THREAD,
    writer,
    sensorIps: o.sensorIps ?? [],
    sensorNames: o.sensorNames ?? [],
    log: () => {},
    importedAt: now,
  });
  const counts: ImportCounts = { read: 0, imported: 0, duplicates: 0, failed: 0, relayTests: 0, spam: 0, other: 0, pastMaxAge: 0 };
  const seen = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let lastProgress = 0;
  const progress = () => {
    if (o.onProgress && now() - lastProgress >= 200) {
      lastProgress = now();
      o.onProgress({ ...counts });
    }
  };
  try {
    for await (const item of readArchive(path)) {
      counts.read++;
      if (item.raw.length === 0 || item.raw.length > MAX_IMPORT_MESSAGE_BYTES) {
        counts.failed++;
        continue;
      }
      const sha = sha256Hex(item.raw);
      if (seen.has(sha) || hasSha256(reader, sha)) {
        counts.duplicates++;
        continue;
      }
      seen.add(sha);
      const env = envelopeOf(item.raw, item.envFrom);
      const job = (async () => {
        const receivedAt = originalDate(item.raw, item.mtime, now());
        const out = await ingest({
          raw: item.raw,
          sessionId: "import-" + sha.slice(0, 16),
          receivedAt,
          srcIp: receivedFromIp(item.raw) ?? "0.0.0.0",
          srcPort: 0,
          destIp: o.sensorIps?.[0] ?? "0.0.0.0",
          destPort: 25,
          channel: "import",
          helo: env.helo,
          mailFrom: env.mailFrom,
          rcptTo: env.rcptTo,
        });
        if (!out.ok) throw new Error(out.reason);
        counts.imported++;
        if (o.olderThan !== undefined && o.olderThan !== null && receivedAt < o.olderThan) counts.pastMaxAge++;
        if (out.kind === "relay-test") counts.relayTests++;
        else if (out.kind === "spam") counts.spam++;
        else counts.other++;
      })().then(
        () => undefined,
        () => {
          counts.failed++;
        },
      );
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      if (inFlight.size >= IMPORT_CONCURRENCY) await Promise.race(inFlight);
      progress();
    }
    await Promise.all(inFlight);
  } finally {
    reader.close();
    await writer.close();
  }
  o.onProgress?.({ ...counts });
  return counts;
}
