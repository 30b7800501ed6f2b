// Parse + analysis off the SMTP thread: a small pool of worker threads (worker.ts), one message per worker at a time.
// Messages up to inlineMaxBytes stay on the calling thread: a worker round trip costs ~190 µs of CPU for a 3 KB spam
// (structured clones both ways, two thread wake-ups, cold caches), as much as parsing it, and on a 2-core sensor the
// copies of a 100 KB message cost more than the parallelism gains. The worst a crafted message of 128 KiB (the
// default) costs mailparser in-thread is ~50 ms (HTML-only); the seconds-long ones are all larger.
//
// mailparser on hostile MIME is the slowest thing a client can make the sensor do: a 10 MB HTML-only message took
// ~4 s of CPU and ~500 MB of heap in one parse. On the main thread that stalled every session (a scanner times it);
// in a worker it stalls that worker. Each message has a time limit and each worker a heap cap: past either, the worker
// is replaced and the message is stored with what the SMTP layer knows (size, sha256, envelope) and the reason in
// parseError. The queue needs no cap of its own: every queued message is one whose client awaits its reply after DATA,
// so limits.maxSessions bounds it.
import { Worker } from "node:worker_threads";
import { analyze, errorVerdict, type AnalyzeOptions } from "./index.js";
import { parseMessage, unparsed } from "./parse.js";
import type { Envelope, ParsedMessage, Verdict } from "./types.js";

export interface AnalysisPoolOptions {
  /** Worker threads; 0 parses and analyzes on the calling thread (tools, tests). */
  workers: number;
  /** Messages up to this size are parsed on the calling thread (see the note at the top); 0: all go to a worker. */
  inlineMaxBytes: number;
  /** A message still being parsed after this long is given up (its worker is replaced). */
  timeoutMs: number;
  /** V8 old-generation cap per worker; a message needing more is given up likewise. */
  maxHeapMb: number;
  /** Characters of the parsed text given back (the text stored for search). */
  maxTextChars: number;
  log?: (line: string) => void;
  /** For tests only: the worker script, in place of ./worker.js (e.g. one that dies before it has loaded). */
  workerUrl?: URL;
}

/** What the pool gives back of a parse: everything storage uses. The HTML part is left out and the text cut to
 * maxTextChars, because copying them back from a worker was a good part of the round trip's cost. hasHtml says whether
 * there was one, so the message page need not parse the raw message again to find out. */
export type StoredParse = Omit<ParsedMessage, "html"> & { hasHtml: boolean };

export interface AnalysisResult {
  parsed: StoredParse;
  verdict: Verdict;
}

export interface AnalysisPool {
  /** Never rejects: a message that cannot be analyzed yields parseError and an "error" evidence. */
  analyze(raw: Buffer, env: Envelope, sensorIps: string[], opts?: AnalyzeOptions): Promise<AnalysisResult>;
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
  /** AnalyzeOptions.sensorNames (a handful of names: sent with every message). */
  sensorNames: string[];
}
export type PoolMessage = AnalysisRequest | { op: "dropboxes"; list: string[] };
export type AnalysisResponse = { op: "ready" } | { op: "result"; id: number; parsed: Omit<StoredParse, "raw">; verdict: Verdict };
export interface AnalysisWorkerData {
  maxTextChars: number;
}

/** The part of a parse the pool gives back. */
export function storedParse(p: ParsedMessage, maxTextChars: number): StoredParse {
  const { html, ...rest } = p;
  const hasHtml = html !== null;
  return p.text !== null && p.text.length > maxTextChars ? { ...rest, text: p.text.slice(0, maxTextChars), hasHtml } : { ...rest, hasHtml };
}

/** Workers in a row that died before they had loaded, after which the pool stops respawning and analyzes in-thread. */
const MAX_STARTUP_FAILURES = 3;
/** Messages handed to one worker ahead of its answers. With one at a time the worker waits out every round trip (a
 * thread wake-up each way; 15-30 % of its time idle in a profile). It still parses them one by one. */
export const WORKER_PIPELINE_DEPTH = 2;

interface Job {
  id: number;
  raw: Buffer;
  env: Envelope;
  sensorIps: string[];
  dropboxes: ReadonlySet<string> | undefined;
  sensorNames: ReadonlySet<string> | undefined;
  resolve: (r: AnalysisResult) => void;
}

interface Slot {
  worker: Worker;
  /** Sent to the worker, in order; the first is the one being parsed (the worker takes them one by one). */
  jobs: Job[];
  /** Time limit of jobs[0], started when it became the first. */
  timer: NodeJS.Timeout | null;
  /** The dropbox set this worker holds (sent only when it changes). */
  dropboxes: ReadonlySet<string> | undefined;
  /** The worker loaded its modules (a worker that dies before that is broken, not killed by a message). */
  ready: boolean;
  /** Why the pool is terminating this worker, if it is. */
  ending: string | null;
}

/** What is known without parsing: the message is stored with it and the reason. No HTML part was found, so its page
 * offers none (finding out would mean the parse just given up, on the web server's thread at every view). */
export function unanalyzed(raw: Buffer, env: Envelope, reason: string): AnalysisResult {
  return { parsed: storedParse(unparsed(raw, reason), 0), verdict: errorVerdict(env, reason) };
}

/** Parse + analyze on this thread: what a worker does with each message, and the pool itself for small ones. */
export async function analyzeHere(raw: Buffer, env: Envelope, sensorIps: string[], maxTextChars: number, opts: AnalyzeOptions = {}): Promise<AnalysisResult> {
  const parsed = await parseMessage(raw);
  const { knownDropboxes, sensorNames } = opts;
  const verdict = analyze(parsed, env, sensorIps, {
    ...(knownDropboxes && knownDropboxes.size > 0 ? { knownDropboxes } : {}),
    ...(sensorNames && sensorNames.size > 0 ? { sensorNames } : {}),
  });
  return { parsed: storedParse(parsed, maxTextChars), verdict };
}

const jobOptions = (job: Job): AnalyzeOptions => ({
  ...(job.dropboxes ? { knownDropboxes: job.dropboxes } : {}),
  ...(job.sensorNames ? { sensorNames: job.sensorNames } : {}),
});

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
    const worker = new Worker(o.workerUrl ?? new URL("./worker.js", import.meta.url), {
      workerData: { maxTextChars: o.maxTextChars } satisfies AnalysisWorkerData,
      resourceLimits: { maxOldGenerationSizeMb: o.maxHeapMb },
    });
    const slot: Slot = { worker, jobs: [], timer: null, dropboxes: undefined, ready: false, ending: null };
    worker.on("message", (res: AnalysisResponse) => {
      if (res.op === "ready") {
        slot.ready = true;
        startupFailures = 0;
        startTimer(slot);
        return;
      }
      const job = slot.jobs[0];
      if (!job || job.id !== res.id) return;
      slot.jobs.shift();
      startTimer(slot);
      job.resolve({ parsed: { ...res.parsed, raw: job.raw }, verdict: res.verdict });
      dispatch();
    });
    // An 'error' (uncaught exception, ERR_WORKER_OUT_OF_MEMORY) is always followed by 'exit', once. The slot is
    // replaced on 'exit': Node emits the worker's pending messages (its 'ready') before 'exit' but not always before
    // an uncaught exception's 'error', and replace() trusts slot.ready.
    let error: string | null = null;
    worker.on("error", (err) => {
      error ??= err.message;
    });
    worker.on("exit", (code) => replace(slot, slot.ending ?? error ?? `worker exited with code ${code}`));
    return slot;
  };

  /** The time limit of the message the worker is on now (the first it has not answered); a starting worker's
   * module loading does not count against it. */
  const startTimer = (slot: Slot) => {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const job = slot.jobs[0];
    if (!job || !slot.ready) return;
    slot.timer = setTimeout(() => {
      log(`relaytrap: analysis of a ${job.raw.length}-byte message took over ${o.timeoutMs} ms; given up, stored unparsed`);
      slot.ending = `took over ${o.timeoutMs} ms`;
      void slot.worker.terminate();
    }, o.timeoutMs);
  };

  /** The slot's worker is gone: give up the message it was on, requeue the ones it had not started (dispatch starts
   * another worker for them, or they are analyzed here once the pool has gone in-thread). A worker that died before
   * it was ready had started none: its first message did not kill it and is requeued too. */
  const replace = (slot: Slot, why: string) => {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    const waiting = slot.jobs;
    slot.jobs = [];
    const job = slot.ready ? waiting.shift() : undefined;
    if (job) {
      if (!closed) givenUp++;
      job.resolve(unanalyzed(job.raw, job.env, `analysis given up: ${why}`));
    }
    if (closed) {
      for (const j of waiting) stopping(j);
      return;
    }
    queue.unshift(...waiting);
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    if (!slot.ready && ++startupFailures >= MAX_STARTUP_FAILURES && !inThread) {
      // Workers that cannot even start would be respawned forever; analysis on the main thread still works.
      log(`relaytrap: analysis workers keep failing (${why}); analyzing on the main thread`);
      inThread = true;
    }
    if (inThread) drainInThread();
    else dispatch();
  };

  /** A message the stopping sensor will not analyze: stored unparsed (its client may still get the 250). */
  const stopping = (job: Job) => job.resolve(unanalyzed(job.raw, job.env, "analysis given up: sensor stopping"));

  const drainInThread = () => {
    for (const job of queue.splice(0)) void analyzeHere(job.raw, job.env, job.sensorIps, o.maxTextChars, jobOptions(job)).then(job.resolve);
  };

  /** Hands queued messages to the least-loaded workers, up to WORKER_PIPELINE_DEPTH each. A worker is started when
   * none is idle and there are fewer than `workers`: an idle one costs ~24 MB of RSS, and most sensors see few
   * messages over inlineMaxBytes. */
  const dispatch = () => {
    while (queue.length > 0) {
      let slot: Slot | undefined;
      for (const s of slots) if (s.jobs.length < WORKER_PIPELINE_DEPTH && (!slot || s.jobs.length < slot.jobs.length)) slot = s;
      if ((!slot || slot.jobs.length > 0) && slots.length < o.workers) {
        slot = spawn();
        slots.push(slot);
      }
      if (!slot) return;
      const job = queue.shift() as Job;
      if (job.dropboxes !== slot.dropboxes && job.dropboxes !== undefined) {
        slot.worker.postMessage({ op: "dropboxes", list: [...job.dropboxes] } satisfies PoolMessage);
        slot.dropboxes = job.dropboxes;
      }
      slot.jobs.push(job);
      if (slot.jobs.length === 1) startTimer(slot);
      slot.worker.postMessage({
        op: "analyze",
        id: job.id,
        raw: job.raw,
        env: job.env,
        sensorIps: job.sensorIps,
        sensorNames: job.sensorNames ? [...job.sensorNames] : [],
      } satisfies PoolMessage);
    }
  };

  return {
    analyze(raw, env, sensorIps, opts = {}) {
      if (inThread || closed || raw.length <= o.inlineMaxBytes) return analyzeHere(raw, env, sensorIps, o.maxTextChars, opts);
      return new Promise<AnalysisResult>((resolve) => {
        queue.push({ id: nextId++, raw, env, sensorIps, dropboxes: opts.knownDropboxes, sensorNames: opts.sensorNames, resolve });
        dispatch();
      });
    },
    get givenUp() {
      return givenUp;
    },
    async close() {
      closed = true;
      for (const s of slots) s.ending = "sensor stopping";
      for (const job of queue.splice(0)) stopping(job);
      await Promise.all(slots.map((s) => s.worker.terminate()));
      slots.length = 0;
    },
  };
}
