// Per-source storage cutoff (Jackpot's idea): past N messages or M bytes from one IP in a window, further messages are
// still accepted and counted, but their bodies are not stored, or only every Nth is. Pure and bounded in memory.

export interface CutoffOptions {
  windowMs: number;
  maxMessages: number;
  maxBytes: number;
  /** Past the cutoff, keep every Nth body (0: none). */
  sampleEvery: number;
  /** Sources tracked at once; the least recently windowed are forgotten first. */
  maxTrackedSources: number;
}

export type CutoffDecision = "store" | "sample" | "drop";

interface Window {
  start: number;
  messages: number;
  bytes: number;
  over: number;
}

export interface SourceCutoff {
  decide(ip: string, size: number, now: number): CutoffDecision;
  /** Seeds the current window from stored history (after a restart). */
  seed(ip: string, messages: number, bytes: number, now: number): void;
  readonly tracked: number;
}

export const MAX_TRACKED_SOURCES = 100_000;

export function createSourceCutoff(o: CutoffOptions): SourceCutoff {
  const windows = new Map<string, Window>();

  function windowFor(ip: string, now: number): Window {
    let w = windows.get(ip);
    if (!w || now - w.start >= o.windowMs) {
      if (w) windows.delete(ip);
      w = { start: now, messages: 0, bytes: 0, over: 0 };
      windows.set(ip, w);
      if (windows.size > o.maxTrackedSources) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
    }
    return w;
  }

  return {
    get tracked() {
      return windows.size;
    },
    seed(ip, messages, bytes, now) {
      const w = windowFor(ip, now);
      w.messages += messages;
      w.bytes += bytes;
    },
    decide(ip, size, now) {
      const w = windowFor(ip, now);
      w.messages++;
      w.bytes += size;
      if (w.messages <= o.maxMessages && w.bytes <= o.maxBytes) return "store";
      w.over++;
      return o.sampleEvery > 0 && w.over % o.sampleEvery === 0 ? "sample" : "drop";
    },
  };
}
