// Parse + analysis off the SMTP thread: a small pool of worker threads (worker.ts), one message per worker at a time.
//
// mailparser on hostile MIME is the slowest thing a client can make the sensor do: a 10 MB HTML-only message took
// ~4 s of CPU and ~500 MB of heap in one parse. On the main thread that stalled every session (a scanner times it);
// in a worker it stalls that worker. Each message has a time limit and each worker a heap cap: past either, the worker
// is replaced and the message is stored with what the SMTP layer knows (size, sha256, envelope) and the reason in
// parseError. The queue needs no cap of its own: every queued message is one whose client awaits its reply after DATA,
// so limits.maxSessions bounds it.
import { Worker } from "node:worker_threads";
import { analyze } from "./index.js";
import { parseMessage, sha256Hex } from "./parse.js";
import type { Envelope, ParsedMessage, Verdict } from "./types.js";

export interface AnalysisPoolOptions {
  /** Worker threads; 0 parses and analyzes on the calling thread (tools, tests). */
  workers: number;
  /** A message still being parsed after this long is given up (its worker is replaced). */
  timeoutMs: number;
  /** V8 old-generation cap per worker; a message needing more is given up likewise. */
  maxHeapMb: number;
  log?: (line: string) => void;
}

export interface AnalysisResult {
  parsed: ParsedMessage;
  verdict: Verdict;
}

export interface AnalysisPool {
  /** Never rejects: a message that cannot be analyzed yields parseError and an "error" evidence. */
  analyze(raw: Buffer, env: Envelope, sensorIps: string[], knownDropboxes?: ReadonlySet<string>): Promise<AnalysisResult>;
  /** Messages given up so far (timeout or heap cap), for metrics and tests. */
  readonly givenUp: number;
  close(): Promise<void>;
}

/** Worker protocol (worker.ts). */
export interface AnalysisRequest {
  op: "analyze";
  id: number;
  raw: Uint8Array;
  env: Envelope;
  sensorIps: string[];
}
export type PoolMessage = AnalysisRequest | { op: "dropboxes"; list: string[] };
export type AnalysisResponse = { op: "ready" } | { op: "result"; id: number; parsed: Omit<ParsedMessage, "raw">; verdict: Verdict };

/** Workers that died without ever answering, in a row, before the pool stops respawning and analyzes in-thread. */
const MAX_STARTUP_FAILURES = 3;

interface Job {
  id: number;
  raw: Buffer;
  env: Envelope;
  sensorIps: string[];
  dropboxes: ReadonlySet<string> | undefined;
  resolve: (r: AnalysisResult) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | null;
  /** The dropbox set this worker holds (sent only when it changes). */
  dropboxes: ReadonlySet<string> | undefined;
  /** The worker loaded its modules (a worker that dies before that is broken, not killed by a message). */
  ready: boolean;
  /** Why the pool is terminating this worker, if it is. */
  ending: string | null;
}

/** What is known without parsing: the message is stored with it and the reason. */
export function unanalyzed(raw: Buffer, env: Envelope, reason: string): AnalysisResult {
  const parsed: ParsedMessage = {
    raw,
    sha256: sha256Hex(raw),
    size: raw.length,
    headers: [],
    subject: null,
    from: null,
    to: null,
    dateHeader: null,
    date: null,
    messageId: null,
    text: null,
    html: null,
    attachments: [],
    parseError: reason,
  };
  const verdict: Verdict = {
    kind: env.rcptTo.length > 0 ? "spam" : "other",
    testedIps: [],
    matchesSensor: false,
    dropboxes: [],
    score: 0,
    evidence: [{ decoder: "error", field: "analysis", found: reason }],
  };
  return { parsed, verdict };
}

async function analyzeHere(raw: Buffer, env: Envelope, sensorIps: string[], dropboxes?: ReadonlySet<string>): Promise<AnalysisResult> {
  const parsed = await parseMessage(raw);
  return { parsed, verdict: analyze(parsed, env, sensorIps, dropboxes && dropboxes.size > 0 ? { knownDropboxes: dropboxes } : {}) };
}

export function createAnalysisPool(o: AnalysisPoolOptions): AnalysisPool {
  const log = o.log ?? (() => {});
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let givenUp = 0;
  let startupFailures = 0;
  let inThread = o.workers === 0;
  let closed = false;

  const spawn = (): Slot => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: o.maxHeapMb } });
    const slot: Slot = { worker, job: null, timer: null, dropboxes: undefined, ready: false, ending: null };
    worker.on("message", (res: AnalysisResponse) => {
      if (res.op === "ready") {
        slot.ready = true;
        startupFailures = 0;
        return;
      }
      const job = slot.job;
      if (!job || job.id !== res.id) return;
      finish(slot);
      job.resolve({ parsed: { ...res.parsed, raw: job.raw }, verdict: res.verdict });
      dispatch();
    });
    // An 'error' (uncaught exception, ERR_WORKER_OUT_OF_MEMORY) is followed by 'exit'; both end up here once.
    let gone = false;
    const lost = (why: string) => {
      if (gone) return;
      gone = true;
      replace(slot, why);
    };
    worker.on("error", (err) => lost(slot.ending ?? err.message));
    worker.on("exit", (code) => lost(slot.ending ?? `worker exited with code ${code}`));
    return slot;
  };

  const finish = (slot: Slot) => {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
  };

  /** The slot's worker is gone or being terminated: give up its message, put a fresh worker in its place. */
  const replace = (slot: Slot, why: string) => {
    const job = slot.job;
    finish(slot);
    if (job) {
      givenUp++;
      job.resolve(unanalyzed(job.raw, job.env, `analysis given up: ${why}`));
    }
    if (closed) return;
    const i = slots.indexOf(slot);
    if (i < 0) return;
    if (!slot.ready && ++startupFailures >= MAX_STARTUP_FAILURES) {
      // Workers that cannot even start would be respawned forever; analysis on the main thread still works.
      log(`relaytrap: analysis workers keep failing (${why}); analyzing on the main thread`);
      inThread = true;
      slots.splice(i, 1);
      drainInThread();
      return;
    }
    slots[i] = spawn();
    dispatch();
  };

  const drainInThread = () => {
    for (const job of queue.splice(0)) void analyzeHere(job.raw, job.env, job.sensorIps, job.dropboxes).then(job.resolve);
  };

  const dispatch = () => {
    for (const slot of slots) {
      if (slot.job) continue;
      const job = queue.shift();
      if (!job) return;
      if (job.dropboxes !== slot.dropboxes && job.dropboxes !== undefined) {
        slot.worker.postMessage({ op: "dropboxes", list: [...job.dropboxes] } satisfies PoolMessage);
        slot.dropboxes = job.dropboxes;
      }
      slot.job = job;
      slot.timer = setTimeout(() => {
        log(`relaytrap: analysis of a ${job.raw.length}-byte message took over ${o.timeoutMs} ms; given up, stored unparsed`);
        slot.ending = `took over ${o.timeoutMs} ms`;
        void slot.worker.terminate();
      }, o.timeoutMs);
      slot.worker.postMessage({ op: "analyze", id: job.id, raw: job.raw, env: job.env, sensorIps: job.sensorIps } satisfies PoolMessage);
    }
  };

  if (!inThread) for (let i = 0; i < o.workers; i++) slots.push(spawn());

  return {
    analyze(raw, env, sensorIps, knownDropboxes) {
      if (inThread || closed) return analyzeHere(raw, env, sensorIps, knownDropboxes);
      return new Promise<AnalysisResult>((resolve) => {
        queue.push({ id: nextId++, raw, env, sensorIps, dropboxes: knownDropboxes, resolve });
        dispatch();
      });
    },
    get givenUp() {
      return givenUp;
    },
    async close() {
      closed = true;
      for (const s of slots) s.ending = "sensor stopping";
      for (const job of queue.splice(0)) job.resolve(unanalyzed(job.raw, job.env, "analysis given up: sensor stopping"));
      await Promise.all(slots.map((s) => s.worker.terminate()));
      slots.length = 0;
    },
  };
}
