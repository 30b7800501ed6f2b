// A loopback SMTP sink for delivery tests: accepts mail, keeps each message's envelope and exact (dot-unstuffed)
// bytes, and counts connections so a test can assert that nothing was sent at all.
import { once } from "node:events";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";

export interface SunkMessage {
  mailFrom: string;
  rcptTo: string[];
  data: Buffer;
}

export interface SmtpSink {
  port: number;
  address: string;
  connections: number;
  messages: SunkMessage[];
  /** Reply to every RCPT with this instead of 250 (e.g. "450 4.2.0 try later"); null: accept. */
  rcptReply: string | null;
  waitMessages(n: number, timeoutMs?: number): Promise<SunkMessage[]>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const sockets = new Set<Socket>();
  let waiters: Array<() => void> = [];
  const sink: SmtpSink = {
    port: 0,
    address: "",
    connections: 0,
    messages: [],
    rcptReply: null,
    async waitMessages(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (sink.messages.length < n) {
        if (Date.now() > deadline) throw new Error(`sink: expected ${n} messages, got ${sink.messages.length}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return sink.messages;
    },
    async close() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, "close");
    },
  };

  const server: Server = createServer((socket) => {
    sink.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buf = Buffer.alloc(0);
    let inData = false;
    let mailFrom = "";
    let rcptTo: string[] = [];
    const say = (l: string) => socket.write(l + "\r\n");
    say("220 sink.test ESMTP");
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          const end = buf.indexOf("\r\n.\r\n");
          const atStart = buf.subarray(0, 3).toString("latin1") === ".\r\n";
          if (end === -1 && !atStart) return;
          const body = atStart ? Buffer.alloc(0) : buf.subarray(0, end + 2);
          buf = buf.subarray(atStart ? 3 : end + 5);
          inData = false;
          // Undo dot-stuffing: a line starting with ".." loses one dot.
          const text = body.toString("latin1").replace(/(^|\r\n)\.\./g, "$1.");
          sink.messages.push({ mailFrom, rcptTo, data: Buffer.from(text, "latin1") });
          say("250 2.0.0 Ok: queued as SINK1");
          const w = waiters;
          waiters = [];
          for (const f of w) f();
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl === -1) return;
        const line = buf.subarray(0, nl).toString("latin1");
        buf = buf.subarray(nl + 2);
        const verb = line.split(" ")[0]!.toUpperCase();
        if (verb === "EHLO") say("250-sink.test\r\n250-8BITMIME\r\n250 SIZE 10240000");
        else if (verb === "HELO") say("250 sink.test");
        else if (verb === "MAIL") {
          mailFrom = /<([^>]*)>/.exec(line)?.[1] ?? "";
          rcptTo = [];
          say("250 2.1.0 Ok");
        } else if (verb === "RCPT") {
          if (sink.rcptReply) say(sink.rcptReply);
          else {
            rcptTo.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
            say("250 2.1.5 Ok");
          }
        } else if (verb === "DATA") {
          inData = true;
          say("354 End data with <CR><LF>.<CR><LF>");
        } else if (verb === "RSET" || verb === "NOOP") say("250 2.0.0 Ok");
        else if (verb === "QUIT") {
          say("221 2.0.0 Bye");
          socket.end();
        } else say("502 5.5.2 Error: command not recognized");
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const a = server.address() as AddressInfo;
  sink.port = a.port;
  sink.address = `127.0.0.1:${a.port}`;
  return sink;
}
