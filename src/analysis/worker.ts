// An analysis worker thread: parses (mailparser) and analyzes one trapped message at a time for pool.ts. Hostile MIME
// can cost seconds of CPU and hundreds of MB of heap per message; here that stalls one worker, never the SMTP sessions.
import { parentPort, workerData } from "node:worker_threads";
import { analyzeHere, type AnalysisRequest, type AnalysisResponse, type AnalysisWorkerData, type PoolMessage } from "./pool.js";

if (!parentPort) throw new Error("analysis worker must run in a worker thread");
const port = parentPort;
const { maxTextChars } = workerData as AnalysisWorkerData;
let knownDropboxes: ReadonlySet<string> = new Set();

async function run(req: AnalysisRequest): Promise<AnalysisResponse> {
  const raw = Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength);
  const { parsed, verdict } = await analyzeHere(raw, req.env, req.sensorIps, maxTextChars, { knownDropboxes, sensorNames: new Set(req.sensorNames) });
  // The raw bytes stay with the caller; only what was derived from them goes back.
  const { raw: _raw, ...rest } = parsed;
  return { op: "result", id: req.id, parsed: rest, verdict };
}

// One message at a time, in the order sent (the pool times the first unanswered one; a dropbox update applies from
// its place in the sequence on).
const inbox: PoolMessage[] = [];
let busy = false;
async function drain(): Promise<void> {
  busy = true;
  for (let msg = inbox.shift(); msg; msg = inbox.shift()) {
    if (msg.op === "dropboxes") knownDropboxes = new Set(msg.list);
    else port.postMessage(await run(msg));
  }
  busy = false;
}
port.on("message", (msg: PoolMessage) => {
  inbox.push(msg);
  if (!busy) void drain();
});
port.postMessage({ op: "ready" } satisfies AnalysisResponse);
