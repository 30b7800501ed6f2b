// A small SMTP client for tests: sends lines or raw bytes and reads whole (multi-line) replies, so each reply can be
// asserted exactly.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";

export class SmtpClient {
  private buf = "";
  private waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(public socket: Socket | TLSSocket) {
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.attach(socket);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      this.buf += d;
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.resolveClosed();
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** `localAddress`: the loopback source address to connect from (127.0.0.x), as another client would. */
  static async connect(port: number, opts: { host?: string; tls?: boolean; localAddress?: string } = {}): Promise<SmtpClient> {
    const host = opts.host ?? "127.0.0.1";
    const local = opts.localAddress ? { localAddress: opts.localAddress } : {};
    const socket = opts.tls
      ? tlsConnect({ host, port, rejectUnauthorized: false, ...local })
      : connect({ host, port, ...local });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    return new SmtpClient(socket);
  }

  /** Reads one complete reply (all lines up to the one with a space after the code); [] if the server closed. */
  async reply(): Promise<string[]> {
    for (;;) {
      const lines: string[] = [];
      let pos = 0;
      for (;;) {
        const nl = this.buf.indexOf("\r\n", pos);
        if (nl === -1) break;
        const line = this.buf.slice(pos, nl);
        lines.push(line);
        pos = nl + 2;
        if (line.length < 4 || line[3] === " ") {
          this.buf = this.buf.slice(pos);
          return lines;
        }
      }
      if (this.closed) return [];
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Strings are written as latin1, so "\xe9" is the single byte 0xE9. */
  write(data: string | Buffer): void {
    this.socket.write(typeof data === "string" ? Buffer.from(data, "latin1") : data);
  }

  /** The client's local port: the sensor's src_port for this connection. */
  get localPort(): number {
    return this.socket.localPort ?? 0;
  }

  async send(line: string): Promise<string[]> {
    this.write(line + "\r\n");
    return this.reply();
  }

  /** Sends a command and asserts the reply's last line starts with `expected` (a code or a whole line). */
  async expect(line: string, expected: string | RegExp): Promise<string[]> {
    const r = await this.send(line);
    const last = r[r.length - 1] ?? "(closed)";
    if (typeof expected === "string") assert.ok(last.startsWith(expected), `${line} -> ${JSON.stringify(r)}, expected ${expected}`);
    else assert.match(last, expected, `${line} -> ${JSON.stringify(r)}`);
    return r;
  }

  async starttls(): Promise<void> {
    await this.expect("STARTTLS", "220");
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.buf = "";
    this.socket = secure;
    this.attach(secure);
  }

  /**
   * Opens a transaction up to DATA's 354, asserting 250 to the greeting, to MAIL FROM and to each RCPT TO; then
   * sendData() or write() the message. `greet` is the whole command ("EHLO x", "HELO x"), null on a session that has
   * greeted already (a further transaction, after STARTTLS).
   */
  async startData(t: { greet: string | null; from: string; to: string | readonly string[] }): Promise<void> {
    if (t.greet !== null) await this.expect(t.greet, "250");
    await this.expect(`MAIL FROM:<${t.from}>`, "250");
    for (const r of typeof t.to === "string" ? [t.to] : t.to) await this.expect(`RCPT TO:<${r}>`, "250");
    await this.expect("DATA", "354");
  }

  /** Sends a whole message after DATA's 354: body lines are dot-stuffed here. */
  async sendData(body: string): Promise<string[]> {
    const stuffed = body.replace(/\r?\n/g, "\r\n").replace(/^\./gm, "..");
    this.write(stuffed + (stuffed.endsWith("\r\n") ? "" : "\r\n") + ".\r\n");
    return this.reply();
  }

  async quit(): Promise<void> {
    if (!this.closed) await this.send("QUIT");
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
