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

export class DataReader {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes of message content seen (after unstuffing), kept or not. */
  size = 0;
  tooBig = false;
  private atLineStart = true;
  /** Bytes of a possible terminator (".", ".\r") held back at a chunk boundary. */
  private carry: Buffer | null = null;

  constructor(private readonly maxBytes: number) {}

  private keep(b: Buffer): void {
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

  push(input: Buffer): DataResult {
    let buf = input;
    if (this.carry) {
      buf = Buffer.concat([this.carry, input]);
      this.carry = null;
    }
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      if (this.atLineStart) {
        if (buf[pos] === DOT) {
          if (pos + 1 >= len) {
            this.carry = buf.subarray(pos);
            return { done: false, rest: Buffer.alloc(0) };
          }
          const b1 = buf[pos + 1];
          if (b1 === LF) return { done: true, rest: buf.subarray(pos + 2) };
          if (b1 === CR) {
            if (pos + 2 >= len) {
              this.carry = buf.subarray(pos);
              return { done: false, rest: Buffer.alloc(0) };
            }
            if (buf[pos + 2] === LF) return { done: true, rest: buf.subarray(pos + 3) };
          }
          pos += 1; // dot-stuffing: drop the leading dot of the line
        }
        this.atLineStart = false;
      }
      const nl = buf.indexOf(LF, pos);
      if (nl === -1) {
        this.keep(buf.subarray(pos));
        return { done: false, rest: Buffer.alloc(0) };
      }
      this.keep(buf.subarray(pos, nl + 1));
      pos = nl + 1;
      this.atLineStart = true;
    }
    return { done: false, rest: Buffer.alloc(0) };
  }

  /** The message as received; only meaningful when !tooBig. */
  body(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

/** Collects exactly `size` bytes of one BDAT chunk into an accumulating body, with the same size cap. */
export class ChunkBody {
  private chunks: Buffer[] = [];
  private kept = 0;
  size = 0;
  tooBig = false;

  constructor(private readonly maxBytes: number) {}

  add(b: Buffer): void {
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

  body(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}
