// Streaming DATA decoder: finds the end-of-data line, removes dot-stuffing, keeps every other byte exactly as received
// (CRLF or bare LF alike), and stops keeping bytes past the size limit while still looking for the end.

export interface DataResult {
  /** True once the "." line was seen. */
  done: boolean;
  /** Bytes after the end-of-data line (pipelined commands), when done. */
  rest: Buffer;
}

const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/** A message body collected piece by piece up to `maxBytes`; past that it only counts (the client still sends the
 * rest, and the reply after it is the size-limit one). */
export class CappedBody {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes of message content seen (after unstuffing), kept or not. */
  size = 0;
  tooBig = false;

  constructor(private readonly maxBytes: number) {}

  add(b: Buffer): void {
    if (b.length === 0) return;
    this.size += b.length;
    if (this.tooBig) return;
    if (this.kept + b.length > this.maxBytes) {
      this.tooBig = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(b);
    this.kept += b.length;
  }

  /** The message as received; only meaningful when !tooBig. */
  body(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

/** DATA: the body up to the end-of-data line. (A BDAT chunk is a CappedBody fed exactly its announced size.) */
export class DataReader extends CappedBody {
  private atLineStart = true;
  /** Bytes of a possible terminator (".", ".\r") held back at a chunk boundary. */
  private carry: Buffer | null = null;

  push(input: Buffer): DataResult {
    let buf = input;
    if (this.carry) {
      buf = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    const len = buf.length;
    let pos = 0;
    // Bytes from `span` up to the current line are kept in one piece: a new piece only where a stuffed dot is left
    // out, not one per line (a 100 KB message is ~1,500 lines).
    let span = 0;
    while (pos < len) {
      if (this.atLineStart) {
        if (buf[pos] === DOT) {
          if (pos + 1 >= len) return this.hold(buf, span, pos);
          const b1 = buf[pos + 1];
          if (b1 === LF) return this.end(buf, span, pos, pos + 2);
          if (b1 === CR) {
            if (pos + 2 >= len) return this.hold(buf, span, pos);
            if (buf[pos + 2] === LF) return this.end(buf, span, pos, pos + 3);
          }
          // Dot-stuffing: the line's leading dot is dropped.
          this.add(buf.subarray(span, pos));
          pos += 1;
          span = pos;
        }
        this.atLineStart = false;
      }
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) break;
      pos = nl + 1;
      this.atLineStart = true;
    }
    this.add(buf.subarray(span, len));
    return { done: false, rest: EMPTY };
  }

  /** A possible terminator is cut by the chunk boundary: keep what precedes it, hold it back for the next chunk. */
  private hold(buf: Buffer, span: number, pos: number): DataResult {
    this.add(buf.subarray(span, pos));
    this.carry = buf.subarray(pos);
    return { done: false, rest: EMPTY };
  }

  /** The end-of-data line starts at `pos`; what follows it from `after` on is pipelined input. */
  private end(buf: Buffer, span: number, pos: number, after: number): DataResult {
    this.add(buf.subarray(span, pos));
    return { done: true, rest: buf.subarray(after) };
  }
}
