// A session's input pump: buffers the client's bytes, cuts command lines (overlong ones as Postfix does), feeds them to
// the session in order, and holds both directions back: reading pauses beyond maxPendingInputBytes, and a client that
// does not take its replies gets no more of them (and nothing more is read) until they drain (issue 14).
import type { Mode, Session } from "./session.js";

const EMPTY = Buffer.alloc(0);

export class InputPump {
  /** Bytes received and not yet processed. */
  private pending: Buffer = EMPTY;
  /** Set while a command line is longer than maxLineBytes: its head is kept, the rest skipped up to LF. */
  private overlongHead: Buffer | null = null;
  /** Set while run() works through the input (a reply may be pending on a store or a delay). */
  running = false;
  private paused = false;
  /** Set while the pump waits for the client to take its replies (see relieveOutput). */
  outputBlocked = false;

  constructor(private readonly s: Session) {}

  get length(): number {
    return this.pending.length;
  }

  /** Drops every byte not yet processed (close, STARTTLS). */
  clear(): void {
    this.pending = EMPTY;
  }

  /** Takes up to n bytes (BDAT chunk data). */
  take(n: number): Buffer {
    const head = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return head;
  }

  readonly onData = (chunk: Buffer): void => {
    const s = this.s;
    if (s.mode === "closed") return;
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.running) {
      if (this.pending.length > s.o.limits.maxPendingInputBytes && !this.paused) {
        this.paused = true;
        s.socket.pause();
      }
      return;
    }
    void this.run();
  };

  async run(): Promise<void> {
    const s = this.s;
    const limits = s.o.limits;
    this.running = true;
    try {
      while (s.mode !== "closed" && (this.pending.length > 0 || (s.mode === "bdat" && s.txn.bdatRemaining === 0))) {
        // A client that does not read its replies gets no more of them (and nothing more is read) until they drain.
        if (s.outputBytes + s.socket.writableLength > limits.maxPendingOutputBytes) await this.relieveOutput();
        if (s.mode === "data") {
          s.timers.touch();
          const r = s.txn.data!.push(this.pending);
          this.pending = r.rest;
          if (!r.done) break;
          await s.endData();
          continue;
        }
        if (s.mode === "bdat") {
          if (this.pending.length > 0) s.timers.touch();
          const r = s.consumeBdat();
          if (r === "more") break;
          if (r === "last") await s.endBdat();
          continue;
        }
        const line = this.takeLine();
        if (line === null) break;
        s.timers.touch();
        const r = s.handleLine(line);
        if (r) await r;
        if (s.errorCount >= limits.hardErrorLimit && (s.mode as Mode) !== "closed") {
          // The last error reply goes out on its own; the 421 follows (after the error delay), as with Postfix.
          await s.flushOut();
          s.reply("tooManyErrors");
          s.close("too-many-errors");
        }
      }
    } catch (err) {
      // A bug must never take the sensor down: end this session only.
      s.closeReason = `internal-error: ${(err as Error).message}`;
      s.reply("storageError");
      s.close(s.closeReason);
    } finally {
      this.running = false;
    }
    await s.flushOut();
    if (this.paused && s.mode !== "closed") {
      this.paused = false;
      s.socket.resume();
    }
    // Input that arrived while the last reply was being written.
    if (this.pending.length > 0 && s.mode !== "closed" && !this.running && this.hasWork()) void this.run();
  }

  /**
   * Over maxPendingOutputBytes: writes what is queued and, if the socket holds more than the limit, stops reading and
   * waits for it to drain (or close). Otherwise yields once, so one pipelining client cannot hold the event loop.
   */
  private async relieveOutput(): Promise<void> {
    const s = this.s;
    await s.flushOut();
    const sock = s.socket;
    if (sock.destroyed || s.mode === "closed") return;
    if (sock.writableLength > s.o.limits.maxPendingOutputBytes && sock.writableNeedDrain) {
      if (!this.paused) {
        this.paused = true;
        sock.pause();
      }
      this.outputBlocked = true;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          sock.off("drain", done);
          sock.off("close", done);
          resolve();
        };
        sock.on("drain", done);
        sock.on("close", done);
      });
      this.outputBlocked = false;
    } else {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private hasWork(): boolean {
    const mode = this.s.mode;
    return mode === "data" || mode === "bdat" || this.pending.includes(0x0a);
  }

  /** Next command line without its line ending; lines over maxLineBytes are cut (as Postfix does). */
  private takeLine(): Buffer | null {
    const max = this.s.o.limits.maxLineBytes;
    const nl = this.pending.indexOf(0x0a);
    if (nl === -1) {
      if (this.overlongHead === null && this.pending.length > max) {
        this.overlongHead = Buffer.from(this.pending.subarray(0, max));
        this.pending = EMPTY;
      } else if (this.overlongHead !== null) {
        this.pending = EMPTY;
      }
      return null;
    }
    let lineBuf: Buffer;
    if (this.overlongHead !== null) {
      lineBuf = this.overlongHead;
      this.overlongHead = null;
    } else {
      lineBuf = this.pending.subarray(0, Math.min(nl, max));
    }
    this.pending = this.pending.subarray(nl + 1);
    const end = lineBuf.length > 0 && lineBuf[lineBuf.length - 1] === 0x0d ? lineBuf.length - 1 : lineBuf.length;
    return lineBuf.subarray(0, end);
  }
}
