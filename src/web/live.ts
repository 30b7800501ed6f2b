// Live updates: an event sink that forwards a few event ids to browsers over Server-Sent Events, dropping slow clients;
// anonymous viewers get only the public form of stored relay tests.
import type { ServerResponse } from "node:http";
import type { EventSink, RelaytrapEvent } from "../events/dispatcher.js";

/** Default caps of live streams, per level (config web.maxPublicLiveClients / web.maxAdminLiveClients). */
export const MAX_PUBLIC_SSE_CLIENTS = 50;
export const MAX_ADMIN_SSE_CLIENTS = 20;
/** Bytes buffered for one client before it is dropped as too slow. */
export const MAX_SSE_BUFFER_BYTES = 256 * 1024;
/** Comment line sent this often so proxies keep the stream open. */
export const SSE_KEEPALIVE_MS = 15_000;

const FORWARDED = new Set(["smtp.session.connect", "smtp.session.closed", "smtp.message.stored", "smtp.message.dropped"]);
/** Fields a browser sees (no passwords, commands or other raw attacker text beyond the subject and a proxy request's
 * method and target); proxy and delivery events go to signed-in users only (routes/live.ts publicLiveEvent). */
const FIELDS = [
  "eventid", "timestamp", "session", "protocol", "src_ip", "channel", "message", "kind", "size", "subject", "mail_from", "reason", "rcpt_count", "duration_ms",
  "proxy_protocol", "method", "target", "outcome",
];

export type LiveLevel = "public" | "admin";

interface Client {
  res: ServerResponse;
  level: LiveLevel;
}

export interface LiveHub {
  sink: EventSink;
  /** Takes over the response; false when the public pool is full. An admin is always served: past the admin cap the
   * oldest admin stream is closed. */
  attach(res: ServerResponse, opts: { level: LiveLevel }): boolean;
  readonly clients: number;
  close(): void;
}

/** Anonymous viewers and signed-in users draw from separate pools, so anonymous streams cannot starve an admin's feed. */
export function createLiveHub(
  opts: {
    maxPublicClients?: number;
    maxAdminClients?: number;
    /** The public form of an event (null: not for anonymous viewers); without it they get no events. */
    publicEvent?: (e: Record<string, unknown>) => Record<string, unknown> | null;
  } = {},
): LiveHub {
  const max: Record<LiveLevel, number> = {
    public: opts.maxPublicClients ?? MAX_PUBLIC_SSE_CLIENTS,
    admin: opts.maxAdminClients ?? MAX_ADMIN_SSE_CLIENTS,
  };
  /** Per level, in attach order (a Set iterates oldest first). */
  const pools: Record<LiveLevel, Set<Client>> = { public: new Set(), admin: new Set() };
  const all = () => [...pools.admin, ...pools.public];
  const keepalive = setInterval(() => {
    for (const c of all()) send(c, ": keepalive\n\n");
  }, SSE_KEEPALIVE_MS).unref();

  function drop(c: Client): void {
    pools[c.level].delete(c);
    c.res.destroy();
  }

  function send(c: Client, chunk: string): void {
    if (c.res.writableLength > MAX_SSE_BUFFER_BYTES) return drop(c);
    c.res.write(chunk);
  }

  return {
    get clients() {
      return pools.public.size + pools.admin.size;
    },
    sink: {
      name: "web-live",
      write(e: RelaytrapEvent) {
        if (pools.public.size + pools.admin.size === 0) return;
        const id = e.eventid as string;
        if (!FORWARDED.has(id) && !id.startsWith("proxy.") && !id.startsWith("delivery.")) return;
        const picked: Record<string, unknown> = {};
        for (const k of FIELDS) if (e[k] !== undefined) picked[k] = e[k];
        const plain = `event: relaytrap\ndata: ${JSON.stringify(picked)}\n\n`;
        for (const c of pools.admin) send(c, plain);
        if (pools.public.size === 0) return;
        const pub = opts.publicEvent?.(e) ?? null;
        if (pub === null) return;
        const chunk = `event: relaytrap\ndata: ${JSON.stringify(pub)}\n\n`;
        for (const c of pools.public) send(c, chunk);
      },
    },
    attach(res, o) {
      const pool = pools[o.level];
      if (pool.size >= max[o.level]) {
        if (o.level !== "admin") return false;
        drop(pool.values().next().value!);
      }
      res.writeHead(200, {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",
      });
      res.write("retry: 5000\n: connected\n\n");
      const c: Client = { res, level: o.level };
      pool.add(c);
      res.on("close", () => pool.delete(c));
      return true;
    },
    close() {
      clearInterval(keepalive);
      for (const c of all()) drop(c);
    },
  };
}
