// Live updates: an event sink that forwards a few event ids to browsers over Server-Sent Events, dropping slow clients.
import type { ServerResponse } from "node:http";
import type { EventSink, RelaytrapEvent } from "../events/dispatcher.js";
import { redactDeep } from "./redact.js";

/** Browsers following the stream at once. */
export const MAX_SSE_CLIENTS = 100;
/** Bytes buffered for one client before it is dropped as too slow. */
export const MAX_SSE_BUFFER_BYTES = 256 * 1024;
/** Comment line sent this often so proxies keep the stream open. */
export const SSE_KEEPALIVE_MS = 15_000;

const FORWARDED = new Set(["smtp.session.connect", "smtp.session.closed", "smtp.message.stored", "smtp.message.dropped"]);
/** Fields a browser sees (no passwords, commands or other raw attacker text beyond the subject). */
const FIELDS = ["eventid", "timestamp", "session", "protocol", "src_ip", "channel", "message", "kind", "size", "subject", "mail_from", "reason", "rcpt_count", "duration_ms"];

interface Client {
  res: ServerResponse;
  redacted: boolean;
}

export interface LiveHub {
  sink: EventSink;
  /** Takes over the response; false when there are too many clients already. */
  attach(res: ServerResponse, opts: { redacted: boolean }): boolean;
  readonly clients: number;
  close(): void;
}

export function createLiveHub(): LiveHub {
  const clients = new Set<Client>();
  const keepalive = setInterval(() => {
    for (const c of clients) send(c, ": keepalive\n\n");
  }, SSE_KEEPALIVE_MS).unref();

  function drop(c: Client): void {
    clients.delete(c);
    c.res.destroy();
  }

  function send(c: Client, chunk: string): void {
    if (c.res.writableLength > MAX_SSE_BUFFER_BYTES) return drop(c);
    c.res.write(chunk);
  }

  return {
    get clients() {
      return clients.size;
    },
    sink: {
      name: "web-live",
      write(e: RelaytrapEvent) {
        if (clients.size === 0) return;
        const id = e.eventid as string;
        if (!FORWARDED.has(id) && !id.startsWith("proxy.") && !id.startsWith("delivery.")) return;
        const picked: Record<string, unknown> = {};
        for (const k of FIELDS) if (e[k] !== undefined) picked[k] = e[k];
        const plain = `event: relaytrap\ndata: ${JSON.stringify(picked)}\n\n`;
        let redacted: string | null = null;
        for (const c of clients) {
          if (c.redacted) redacted ??= `event: relaytrap\ndata: ${JSON.stringify(redactDeep(picked))}\n\n`;
          send(c, c.redacted ? redacted! : plain);
        }
      },
    },
    attach(res, opts) {
      if (clients.size >= MAX_SSE_CLIENTS) return false;
      res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
      });
      res.write("retry: 5000\n: connected\n\n");
      const c: Client = { res, redacted: opts.redacted };
      clients.add(c);
      res.on("close", () => clients.delete(c));
      return true;
    },
    close() {
      clearInterval(keepalive);
      for (const c of clients) drop(c);
    },
  };
}
