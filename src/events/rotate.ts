// Rotation of the JSONL event log: by size and/or UTC day, rotated files gzip-compressed in the background, only the
// newest `keep` kept. Failures are reported and never thrown: a log that cannot rotate must not stop the sensor.
import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync, statSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

export interface RotateOptions {
  /** Rotate before the file would grow past this many bytes (0: never by size). */
  bytes: number;
  /** Rotate at the first write of a new UTC day. */
  daily: boolean;
  /** Rotated files kept (compressed); older ones are deleted. */
  keep: number;
}

export interface Rotator {
  /** Whether the file (of `size` bytes, started on `day`) must be rotated before `adding` more bytes go in. */
  due(size: number, day: string, adding: number): boolean;
  /** Renames the live file aside; returns the new name, or null if there was nothing to rename. Synchronous. */
  renameAside(): string | null;
  /** Compresses a renamed file and applies the retention; resolves when done (errors go to onError). */
  compress(file: string): Promise<void>;
  /** Compresses rotated files left uncompressed by a crash, applies the retention. */
  recover(): Promise<void>;
}

/** The UTC day of a time, "YYYY-MM-DD". */
export function utcDay(ms = Date.now()): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** `events.jsonl-20261127T120000123Z`: lexical order is chronological order. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, "");
}

export function createRotator(path: string, opts: RotateOptions, onError: (err: Error) => void): Rotator {
  const dir = dirname(path);
  const prefix = basename(path) + "-";
  const rotatedName = /^\d{8}T\d{9}Z(\.gz)?$/;
  let chain: Promise<void> = Promise.resolve();
  /** Names strictly increase, also for several rotations in one millisecond (retention goes by name order). */
  let lastMs = 0;

  const rotated = (): string[] => {
    try {
      return readdirSync(dir)
        .filter((f) => f.startsWith(prefix) && rotatedName.test(f.slice(prefix.length)))
        .sort();
    } catch (err) {
      onError(err as Error);
      return [];
    }
  };

  function retain(): void {
    // Compression is serialized and none is running now: a leftover temporary file is from a failed one.
    try {
      for (const f of readdirSync(dir)) if (f.startsWith(prefix) && f.endsWith(".gz.tmp")) unlinkSync(join(dir, f));
    } catch (err) {
      onError(err as Error);
    }
    const files = rotated();
    for (const f of files.slice(0, Math.max(0, files.length - opts.keep))) {
      try {
        unlinkSync(join(dir, f));
      } catch (err) {
        onError(err as Error);
      }
    }
  }

  async function gzip(file: string): Promise<void> {
    const tmp = file + ".gz.tmp";
    if (!existsSync(file)) return; // already past the retention
    try {
      await pipeline(createReadStream(file), createGzip(), createWriteStream(tmp));
      renameSync(tmp, file + ".gz");
      unlinkSync(file);
    } catch (err) {
      onError(err as Error);
      try {
        unlinkSync(tmp);
      } catch {
        // nothing to clean up
      }
    }
  }

  // Compression runs one file at a time, in order, off the event path.
  const enqueue = (job: () => Promise<void>): Promise<void> => (chain = chain.then(job, job));

  return {
    due(size, day, adding) {
      if (size === 0) return false;
      if (opts.bytes > 0 && size + adding > opts.bytes) return true;
      return opts.daily && day !== utcDay();
    },
    renameAside() {
      let ms = Math.max(Date.now(), lastMs + 1);
      let target = join(dir, prefix + stamp(ms));
      while (existsSync(target) || existsSync(target + ".gz")) target = join(dir, prefix + stamp(++ms));
      try {
        renameSync(path, target);
        lastMs = ms;
        return target;
      } catch (err) {
        onError(err as Error);
        return null;
      }
    },
    compress(file) {
      return enqueue(async () => {
        await gzip(file);
        retain();
      });
    },
    recover() {
      return enqueue(async () => {
        for (const f of rotated()) if (!f.endsWith(".gz")) await gzip(join(dir, f));
        retain();
      });
    },
  };
}

/** Size and UTC day of an existing log file (a fresh file: 0 bytes, today). */
export function fileState(path: string): { size: number; day: string } {
  try {
    const st = statSync(path);
    return { size: st.size, day: utcDay(st.mtimeMs) };
  } catch {
    return { size: 0, day: utcDay() };
  }
}
