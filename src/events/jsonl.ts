// JSONL event log: one JSON object a line, appended; reopen() after logrotate (SIGHUP); bounded buffer, never blocks.
// Lines are gathered and written every FLUSH_MS (or at FLUSH_BYTES): one write for many events, not one per event.
import { createWriteStream, mkdirSync, openSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { finished } from "node:stream";
import type { EventSink, RelaytrapEvent } from "./dispatcher.js";
import { createRotator, fileState, utcDay, type RotateOptions } from "./rotate.js";

/** A log file that failed (disk full, path now a directory, ...) is opened again at most this often, SIGHUP aside. */
export const REOPEN_RETRY_MS = 30_000;
/** Buffered lines are written at most this long after the first of them: a write per event-loop turn cost a busy
 * sensor ~6 µs of CPU per event (one fs write request each), a write every few ms costs almost nothing. The log is
 * not the durable record (the store is), so a crash losing the last few ms of lines is acceptable. */
export const FLUSH_MS = 20;
/** ... or as soon as this many bytes are buffered. */
export const FLUSH_BYTES = 64 * 1024;

export interface JsonlSink extends EventSink {
  reopen(): void;
  /** Events dropped because the buffer was full or the file could not be written. */
  readonly dropped: number;
}

export function createJsonlSink(
  path: string,
  opts: { maxBufferBytes: number; onError?: (err: Error) => void; rotate?: RotateOptions },
): JsonlSink {
  const onError = (err: Error) => opts.onError?.(err);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    onError(err as Error);
  }
  const rotate = opts.rotate && (opts.rotate.bytes > 0 || opts.rotate.daily) ? opts.rotate : null;
  const rotator = rotate ? createRotator(path, rotate, onError) : null;
  let compressing: Promise<void> = rotator ? rotator.recover() : Promise.resolve();
  let dropped = 0;
  let size = 0;
  let day = utcDay();
  let openedAt = 0;
  let stream: WriteStream = open();
  let lines: string[] = [];
  let lineBytes = 0;
  let timer: NodeJS.Timeout | null = null;

  function open(): WriteStream {
    ({ size, day } = fileState(path));
    openedAt = Date.now();
    // Opened synchronously, so the file exists (and can be rotated) from now on; a failure is reported by the stream.
    let fd: number | undefined;
    try {
      fd = openSync(path, "a");
    } catch {
      fd = undefined;
    }
    const s = fd === undefined ? createWriteStream(path, { flags: "a" }) : createWriteStream(path, { fd });
    s.on("error", (err) => {
      opts.onError?.(err);
    });
    return s;
  }

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = null;
    if (lines.length === 0) return;
    const data = lines.join("");
    lines = [];
    lineBytes = 0;
    if (stream.destroyed && Date.now() - openedAt >= REOPEN_RETRY_MS) stream = open();
    if (stream.destroyed) {
      dropped += data.split("\n").length - 1;
      return;
    }
    const bytes = Buffer.byteLength(data);
    // Not while the file is still being opened: it may not exist yet, and renaming it then would split nothing.
    if (!stream.pending && rotator?.due(size, day, bytes)) {
      const aside = rotator.renameAside();
      if (aside) {
        const old = stream;
        stream = open();
        // The old stream still writes its buffered lines into the renamed file; compress once it is done.
        const done = new Promise<void>((resolve) => finished(old, () => resolve())).then(() => rotator.compress(aside));
        compressing = compressing.then(() => done);
        old.end();
      }
    }
    stream.write(data);
    size += bytes;
  }

  return {
    name: "jsonl",
    get dropped() {
      return dropped;
    },
    write(event: RelaytrapEvent) {
      if (stream.destroyed && Date.now() - openedAt >= REOPEN_RETRY_MS) stream = open();
      if (stream.destroyed || stream.writableLength + lineBytes > opts.maxBufferBytes) {
        dropped++;
        return;
      }
      const line = JSON.stringify(event) + "\n";
      // Rotation is decided at a flush: flush before a line that would take the file past the size limit.
      if (rotate && rotate.bytes > 0 && lines.length > 0 && size + lineBytes + line.length > rotate.bytes) flush();
      lines.push(line);
      lineBytes += line.length;
      if (lineBytes >= FLUSH_BYTES) flush();
      else timer ??= setTimeout(flush, FLUSH_MS).unref();
    },
    reopen() {
      flush();
      const old = stream;
      stream = open();
      old.end();
    },
    async close() {
      flush();
      await new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.end(() => resolve());
      });
      await compressing;
    },
  };
}
