// Test helpers that start a real sensor: in-process (createSensor) or as the real CLI in a child process.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { validateConfig, type RawConfig } from "../../src/config/load.js";
import type { RelaytrapEvent } from "../../src/events/dispatcher.js";
import { createSensor, type Sensor } from "../../src/sensor.js";

export const CLI = fileURLToPath(new URL("../../src/cli.js", import.meta.url));

const madeDirs: string[] = [];

/** A fresh directory under the system temp dir, removed when this test process exits (a run made ~60). */
export function tempDir(prefix = "relaytrap-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (madeDirs.length === 0) process.once("exit", removeMadeDirs);
  madeDirs.push(dir);
  return dir;
}

function removeMadeDirs(): void {
  for (const dir of madeDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // a child process may still hold it on some systems: leave it to the OS's temp cleaning
    }
  }
}

export interface TestSensor {
  sensor: Sensor;
  port: number;
  tlsPort: number | null;
  dataDir: string;
  events: RelaytrapEvent[];
  /** Resolves with the first event of this id (already seen, or the next one). */
  waitEvent(id: string, pred?: (e: RelaytrapEvent) => boolean): Promise<RelaytrapEvent>;
  close(): Promise<void>;
}

/** An in-process sensor on 127.0.0.1:0 with a capture sink; limits made test-friendly (no error sleep). */
export async function startSensor(overrides: RawConfig = {}, opts: { smtps?: boolean; lookup?: (host: string) => Promise<string[]> } = {}): Promise<TestSensor> {
  const dataDir = tempDir();
  const config = validateConfig({
    dataDir,
    smtpListen: ["127.0.0.1:0"],
    smtpsListen: opts.smtps ? ["127.0.0.1:0"] : [],
    hostname: "mail.example.org",
    webListen: "127.0.0.1:0",
    // the shipped databases cost a second of CPU per sensor: only the tests about enrichment turn it on
    enrich: { enabled: false },
    ...overrides,
    limits: { errorSleepMs: 0, authFailureDelayMs: 0, ...(overrides.limits as object | undefined) },
  });
  const sensor = await createSensor(config, { log: () => {}, ...(opts.lookup ? { lookup: opts.lookup } : {}) });
  const events: RelaytrapEvent[] = [];
  let waiters: Array<() => void> = [];
  sensor.events.addSink({
    name: "capture",
    write(e) {
      events.push(e);
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
  });
  const port = sensor.listeners.find((l) => l.kind === "smtp")!.port;
  const tlsPort = sensor.listeners.find((l) => l.kind === "smtps")?.port ?? null;
  return {
    sensor,
    port,
    tlsPort,
    dataDir,
    events,
    async waitEvent(id, pred = () => true) {
      for (;;) {
        const e = events.find((x) => x.eventid === id && pred(x));
        if (e) return e;
        await new Promise<void>((r) => waiters.push(r));
      }
    },
    async close() {
      await sensor.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface CliProcess {
  child: ChildProcess;
  stdout: string[];
  stderr: string;
  /** Resolves with the bound listeners once the "listening" lines are out. */
  listening: Promise<Array<{ kind: string; address: string; port: number }>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node dist/src/cli.js ARGS` and collects its output; `listening` resolves at the "ready" line. */
export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    // The web UI on an ephemeral port unless a test sets it, so parallel CLI tests do not fight over 8025.
    env: { RELAYTRAP_WEB_LISTEN: "127.0.0.1:0", ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const p: CliProcess = {
    child,
    stdout: [],
    stderr: "",
    listening: null as never,
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  p.listening = new Promise((resolve, reject) => {
    let buf = "";
    const found: Array<{ kind: string; address: string; port: number }> = [];
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        p.stdout.push(line);
        const m = /^relaytrap: listening (\S+) on (.+):(\d+)$/.exec(line);
        if (m) found.push({ kind: m[1]!, address: `${m[2]}:${m[3]}`, port: Number(m[3]) });
        if (line.startsWith("relaytrap: ready")) resolve(found);
      }
    });
    void p.exited.then(({ code }) => reject(new Error(`relaytrap exited (${code}) before listening: ${p.stderr}`)));
  });
  p.listening.catch(() => {});
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (p.stderr += d));
  return p;
}

/** Runs the CLI to completion and returns its output. */
export async function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { RELAYTRAP_WEB_LISTEN: "127.0.0.1:0", ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once("close", (c) => r(c)));
  return { code, stdout, stderr };
}
