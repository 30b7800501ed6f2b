// Main-thread handle on the SQLite writer worker: promises in, durable commits out.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { NewMessage, PrunePolicy, PruneResult, SessionRecord, StoreWriter } from "../types.js";
import { DB_FILE, describeStoreError } from "./db.js";
import type { MessageParams, SessionParams, WriterRequest, WriterResponse } from "./writer-worker.js";

/** How long a closing writer thread may take to exit by itself before it is terminated. */
const WORKER_EXIT_GRACE_MS = 5000;
/** Longest a lazy request (a session row) waits for a message to share its commit with. A crash in that window loses
 * the row; nothing acknowledged to a client depends on it. */
export const LAZY_SEND_MS = 50;

export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
  /** The disk (or the file system quota) is full: the persona answers 452 4.3.1. */
  get diskFull(): boolean {
    return this.code === "SQLITE_FULL" || this.code === "ENOSPC";
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Payload = WriterRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

export async function openSqliteWriter(dataDir: string, opts: { maxDatabaseBytes?: number } = {}): Promise<StoreWriter> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, DB_FILE);
  const worker = new Worker(new URL("./writer-worker.js", import.meta.url), {
    workerData: { path, maxDatabaseBytes: opts.maxDatabaseBytes ?? 0 },
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let rawBytes = 0;
  let dead: Error | null = null;

  const ready = new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
  });
  worker.on("message", (responses: WriterResponse | WriterResponse[]) => {
    for (const res of Array.isArray(responses) ? responses : [responses]) {
      rawBytes = res.rawBytes;
      const p = pending.get(res.id);
      if (!p) continue;
      pending.delete(res.id);
      if (res.ok) p.resolve(res.result);
      else p.reject(new StoreError(res.error, res.code));
    }
  });
  const fail = (err: unknown) => {
    // What a worker throws arrives structured-cloned: a SqliteError as a bare {code}, without its message.
    const e = (err ?? {}) as { message?: unknown; code?: unknown };
    const code = typeof e.code === "string" ? e.code : null;
    const message = typeof e.message === "string" && e.message !== "" ? e.message : (code ?? String(err));
    dead = err instanceof Error ? err : new Error(message);
    for (const p of pending.values()) p.reject(new StoreError(`store writer stopped: ${describeStoreError(path, { message, code })}`, code));
    pending.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(`writer exited with code ${code}`)));
  try {
    await ready;
  } catch (err) {
    // Opening failed (a damaged file, no permission, ...): one line naming the file and what SQLite said.
    const e = err as StoreError;
    if (!e.message.startsWith("store writer stopped:")) throw new StoreError(describeStoreError(path, e), e.code);
    throw err;
  }

  // Requests made in one event-loop turn go to the worker in one message (they are committed together anyway). Lazy
  // requests (session rows, proxy rows: no reply to a client waits on them) ride along with the next one, or go after
  // LAZY_SEND_MS: a commit (and an fsync) of their own per connection cost the writer as much as the message insert.
  let outbox: WriterRequest[] = [];
  let sendSoon = false;
  let lazyTimer: NodeJS.Timeout | null = null;
  const send = () => {
    sendSoon = false;
    if (lazyTimer) clearTimeout(lazyTimer);
    lazyTimer = null;
    const batch = outbox;
    outbox = [];
    if (batch.length) worker.postMessage(batch);
  };

  function call<T>(req: Payload, lazy = false): Promise<T> {
    if (dead) return Promise.reject(new StoreError(`store writer stopped: ${(dead as Error).message}`, null));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      outbox.push({ ...req, id } as WriterRequest);
      if (sendSoon) return;
      if (!lazy) {
        sendSoon = true;
        setImmediate(send);
      } else lazyTimer ??= setTimeout(send, LAZY_SEND_MS);
    });
  }

  return {
    putMessage: (m: NewMessage) => call<number>({ op: "putMessage", arg: { params: messageParams(m), raw: m.raw } }),
    putSession: (s: SessionRecord) => call<void>({ op: "putSession", arg: sessionParams(s) }, true),
    prune: (p: PrunePolicy) => call<PruneResult>({ op: "prune", arg: p }),
    exec: (statements, opts) => call({ op: "exec", arg: statements }, opts?.lazy === true),
    rawBytes: () => rawBytes,
    async close() {
      if (dead) return;
      worker.removeAllListeners("exit");
      const exited = new Promise<void>((r) => worker.once("exit", () => r()));
      await call<void>({ op: "close" });
      // The worker ends on its own once its port is closed; terminate only if it does not.
      let timer: NodeJS.Timeout | undefined;
      const stuck = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), WORKER_EXIT_GRACE_MS)))]);
      clearTimeout(timer);
      if (stuck) await worker.terminate();
    },
  };
}

function messageParams(m: NewMessage): MessageParams {
  const { raw, rcptTo, verdict, attachments, headers, hasHtml, importedAt, ...plain } = m;
  return {
    ...plain,
    importedAt: importedAt ?? null,
    rcptTo: JSON.stringify(rcptTo),
    rcptCount: rcptTo.length,
    bodyStored: raw ? 1 : 0,
    hasHtml: hasHtml ? 1 : 0,
    verdict: verdict ? JSON.stringify(verdict) : null,
    confidence: m.confidence ?? verdict?.confidence ?? null,
    attachments: JSON.stringify(attachments),
    headers: JSON.stringify(headers),
  };
}

function sessionParams(s: SessionRecord): SessionParams {
  const { tls, auth, transcript, transcriptTruncated, ...plain } = s;
  return {
    ...plain,
    tls: tls ? JSON.stringify(tls) : null,
    auth: JSON.stringify(auth),
    transcript: JSON.stringify(transcript),
    transcriptTruncated: transcriptTruncated ? 1 : 0,
  };
}
