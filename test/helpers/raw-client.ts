// A raw TCP client for protocol tests: writes bytes as given and collects everything it receives.
import { connect, type Socket } from "node:net";

/** A raw TCP client that collects everything it receives. */
export class Raw {
  data = Buffer.alloc(0);
  readonly closed: Promise<void>;
  /** Our port, i.e. the session's src_port (kept: a closed socket no longer has one). */
  readonly localPort: number;
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: Socket) {
    this.localPort = socket.localPort ?? 0;
    socket.on("data", (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    socket.on("error", () => {});
    this.closed = new Promise((r) => socket.once("close", () => (this.wake(), r())));
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  static async open(port: number, localAddress?: string): Promise<Raw> {
    const s = connect({ host: "127.0.0.1", port, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => s.once("connect", resolve).once("error", reject));
    return new Raw(s);
  }
  /** Resolves once at least n bytes arrived (or the connection closed). */
  async waitBytes(n: number): Promise<Buffer> {
    while (this.data.length < n && !this.socket.destroyed) await new Promise<void>((r) => this.waiters.push(r));
    return this.data;
  }
  async waitText(s: string): Promise<string> {
    while (!this.data.toString("latin1").includes(s) && !this.socket.destroyed) await new Promise<void>((r) => this.waiters.push(r));
    return this.data.toString("latin1");
  }
  write(b: Buffer | string): void {
    this.socket.write(b);
  }
}
