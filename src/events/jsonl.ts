// JSONL event log: one JSON object a line, appended; reopen() after logrotate (SIGHUP); bounded buffer, never blocks.
// Lines are gathered and written once per event-loop turn: one write per turn, not one per event.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import type { EventSink, RelaytrapEvent } from "./dispatcher.js";

export interface JsonlSink extends EventSink {
  reopen(): void;
  /** Events dropped because the buffer was full or the file could not be written. */
  readonly dropped: number;
}

export function createJsonlSink(path: string, opts: { maxBufferBytes: number; onError?: (err: Error) => void }): JsonlSink {
  mkdirSync(dirname(path), { recursive: true });
  let dropped = 0;
  let stream: WriteStream = open();
  let lines: string[] = [];
  let lineBytes = 0;
  let scheduled = false;

  function open(): WriteStream {
    const s = createWriteStream(path, { flags: "a" });
    s.on("error", (err) => {
      opts.onError?.(err);
    });
    return s;
  }

  function flush(): void {
    scheduled = false;
    if (lines.length === 0) return;
    const data = lines.join("");
    lines = [];
    lineBytes = 0;
    if (stream.destroyed) {
      dropped += data.split("\n").length - 1;
      return;
    }
    stream.write(data);
  }

  return {
    name: "jsonl",
    get dropped() {
      return dropped;
    },
    write(event: RelaytrapEvent) {
      if (stream.destroyed || stream.writableLength + lineBytes > opts.maxBufferBytes) {
        dropped++;
        return;
      }
      const line = JSON.stringify(event) + "\n";
      lines.push(line);
      lineBytes += line.length;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    reopen() {
      flush();
      const old = stream;
      stream = open();
      old.end();
    },
    close() {
      flush();
      return new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.end(() => resolve());
      });
    },
  };
}
