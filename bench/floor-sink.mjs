#!/usr/bin/env node
// The floor for any Node SMTP server on this machine: a minimal responder (no parsing, no storage, no events) that
// answers smtp-source's commands and discards everything, like Postfix's smtp-sink but in Node. bench/smtp.mjs
// --floor runs it in every block, so its ratio to smtp-sink shows how much of relaytrap's gap is Node itself and how
// much is relaytrap's work (state machine, parse, analysis, durable store, events).
//
//   node bench/floor-sink.mjs PORT        (loopback only)
import { createServer } from "node:net";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write("usage: node bench/floor-sink.mjs PORT\n");
  process.exit(2);
}
/** A command line longer than this closes the connection (smtp-source never sends one). */
const MAX_LINE = 4096;

const server = createServer({ noDelay: true }, (s) => {
  s.on("error", () => {});
  s.write("220 floor.bench.invalid ESMTP\r\n");
  let buf = "";
  let inData = false;
  s.on("data", (d) => {
    buf += d.toString("latin1");
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (inData) {
        if (line === "." || line === ".\r") {
          inData = false;
          s.write("250 2.0.0 Ok: queued\r\n");
        }
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === "EHLO") s.write("250-floor.bench.invalid\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
      else if (verb === "DATA") {
        inData = true;
        s.write("354 End data with <CR><LF>.<CR><LF>\r\n");
      } else if (verb === "QUIT") s.end("221 2.0.0 Bye\r\n");
      else s.write("250 2.0.0 Ok\r\n");
    }
    if (buf.length > MAX_LINE && !inData) s.destroy();
    if (inData && buf.length > MAX_LINE) buf = buf.slice(-2);
  });
});
server.listen(port, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
