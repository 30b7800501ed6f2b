// JSONL event log: one JSON object a line, appended; reopen() after logrotate (SIGHUP); bounded buffer, never blocks.
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

  function open(): WriteStream {
    const s = createWriteStream(path, { flags: "a" });
    s.on("error", (err) => {
      opts.onError?.(err);
    });
    return s;
  }

  return {
    name: "jsonl",
    get dropped() {
      return dropped;
    },
    write(event: RelaytrapEvent) {
      if (stream.destroyed || stream.writableLength > opts.maxBufferBytes) {
        dropped++;
        return;
      }
      stream.write(JSON.stringify(event) + "\n");
    },
    reopen() {
      const old = stream;
      stream = open();
      old.end();
    },
    close() {
      return new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.end(() => resolve());
      });
    },
  };
}
