// THE outbound allow-list: the only code in relaytrap that opens an outbound connection. A destination is the
// configured smarthost, or a public MX (A/AAAA) of the recipient's domain; private, loopback, link-local and other
// non-global addresses from DNS are refused unless allowPrivateMx is set, and the sensor's own addresses always are.
// connect() only accepts a Route this module approved, and only dials its IP (no DNS at connect time).
import { promises as dnsPromises } from "node:dns";
import { BlockList, connect as netConnect, isIP, type Socket } from "node:net";
import { normalizeIp, parseHostPort } from "./address.js";

export const SMTP_PORT = 25;
/** Addresses tried per delivery (MX hosts x their addresses). */
export const MAX_ROUTES = 10;

export interface Route {
  /** The name we looked up (smarthost or MX host), or the literal. */
  host: string;
  ip: string;
  port: number;
  via: "smarthost" | "mx" | "implicit-mx" | "literal";
}

/** The destination is not allowed (or does not exist): retrying will not help. */
export class OutboundRefused extends Error {
  readonly permanent = true;
}

/** DNS failed in a way that may pass (timeout, SERVFAIL). */
export class OutboundTemporary extends Error {
  readonly permanent = false;
}

export interface Resolver {
  resolveMx(domain: string): Promise<Array<{ exchange: string; priority: number }>>;
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
  lookup(host: string): Promise<string[]>;
}

export interface OutboundOptions {
  /** "HOST:PORT": every delivery goes there, whatever address it resolves to (it was configured explicitly). */
  smarthost: string | null;
  /** Let MX lookups lead to private, loopback or link-local addresses. */
  allowPrivateMx: boolean;
  /** Addresses never dialled via MX (the sensor's own), so a test cannot loop back into the trap. */
  refuseIps: string[];
  /** DNS and connect timeout. */
  timeoutMs: number;
  resolver?: Resolver;
}

export interface Outbound {
  /** Approved destinations for a recipient domain ("example.com", "[192.0.2.1]"), best first. */
  routes(domain: string): Promise<Route[]>;
  /** Dials an approved route. */
  connect(route: Route): Promise<Socket>;
}

const NON_GLOBAL: Array<[string, number, "ipv4" | "ipv6", string]> = [
  ["0.0.0.0", 8, "ipv4", "unspecified"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared (CGNAT)"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "reserved"],
  ["192.0.2.0", 24, "ipv4", "documentation"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["198.51.100.0", 24, "ipv4", "documentation"],
  ["203.0.113.0", 24, "ipv4", "documentation"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["64:ff9b:1::", 48, "ipv6", "private"],
  ["100::", 64, "ipv6", "discard"],
  ["2001:db8::", 32, "ipv6", "documentation"],
  ["fc00::", 7, "ipv6", "private (ULA)"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["fec0::", 10, "ipv6", "site-local"],
  ["ff00::", 8, "ipv6", "multicast"],
];
const blocks = NON_GLOBAL.map(([net, prefix, type, label]) => {
  const b = new BlockList();
  b.addSubnet(net, prefix, type);
  return { b, type, label };
});

/** Why an address is not a public unicast destination, or null when it is. IPv4-mapped IPv6 is judged as IPv4. */
export function nonGlobalReason(ip: string): string | null {
  const n = normalizeIp(ip);
  const family = isIP(n);
  if (family === 0) return "not an IP address";
  if (family === 6 && /^::ffff:/i.test(n)) return "IPv4-mapped";
  const type = family === 4 ? "ipv4" : "ipv6";
  for (const { b, type: t, label } of blocks) if (t === type && b.check(n, type)) return label;
  return null;
}

const systemResolver: Resolver = {
  resolveMx: (d) => dnsPromises.resolveMx(d),
  resolve4: (h) => dnsPromises.resolve4(h),
  resolve6: (h) => dnsPromises.resolve6(h),
  lookup: async (h) => (await dnsPromises.lookup(h, { all: true, verbatim: true })).map((a) => a.address),
};

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OutboundTemporary(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function dnsError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOTFOUND" || code === "NXDOMAIN") return new OutboundRefused(`${what}: no such domain`);
  if (err instanceof OutboundTemporary || err instanceof OutboundRefused) return err;
  return new OutboundTemporary(`${what}: ${code ?? (err as Error).message}`);
}

export function createOutbound(o: OutboundOptions): Outbound {
  const resolver = o.resolver ?? systemResolver;
  const refused = new Set(o.refuseIps.map(normalizeIp));
  // Routes handed out by routes(); connect() dials nothing else.
  const approved = new WeakSet<Route>();
  const smarthost = o.smarthost ? parseHostPort(o.smarthost) : null;
  if (o.smarthost && !smarthost) throw new Error(`delivery.smarthost: expected HOST:PORT, got "${o.smarthost}"`);

  const approve = (r: Route): Route => {
    approved.add(r);
    return r;
  };

  /** The MX-path check: public unicast, not ours (unless private destinations were explicitly allowed). */
  const check = (ip: string): string | null => {
    const n = normalizeIp(ip);
    if (refused.has(n)) return "the sensor's own address";
    const why = nonGlobalReason(n);
    if (why === null) return null;
    if (o.allowPrivateMx && why !== "not an IP address" && why !== "unspecified" && why !== "multicast") return null;
    return why;
  };

  async function addresses(host: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([
      withTimeout(resolver.resolve4(host), o.timeoutMs, `A ${host}`).catch((e: unknown) => e as Error),
      withTimeout(resolver.resolve6(host), o.timeoutMs, `AAAA ${host}`).catch((e: unknown) => e as Error),
    ]);
    const out = [...(Array.isArray(v4) ? v4 : []), ...(Array.isArray(v6) ? v6 : [])];
    if (out.length === 0) {
      const e = !Array.isArray(v4) ? v4 : !Array.isArray(v6) ? v6 : null;
      const code = e ? (e as NodeJS.ErrnoException).code : undefined;
      if (e && code !== "ENODATA" && code !== "ENOTFOUND") throw dnsError(e, `address of ${host}`);
    }
    return out;
  }

  return {
    async routes(domain) {
      if (smarthost) {
        const ips = isIP(smarthost.host)
          ? [smarthost.host]
          : await withTimeout(resolver.lookup(smarthost.host), o.timeoutMs, `smarthost ${smarthost.host}`).catch((e: unknown) => {
              throw dnsError(e, `smarthost ${smarthost.host}`);
            });
        if (ips.length === 0) throw new OutboundTemporary(`smarthost ${smarthost.host}: no address`);
        return ips.slice(0, MAX_ROUTES).map((ip) => approve({ host: smarthost.host, ip, port: smarthost.port, via: "smarthost" }));
      }

      const d = domain.trim().toLowerCase().replace(/\.$/, "");
      const literal = /^\[(?:ipv6:)?([^\]]+)\]$/.exec(d);
      if (literal) {
        const ip = literal[1]!;
        if (isIP(ip) === 0) throw new OutboundRefused(`${domain}: bad address literal`);
        const why = check(ip);
        if (why) throw new OutboundRefused(`${domain}: refused destination (${why})`);
        return [approve({ host: d, ip: normalizeIp(ip), port: SMTP_PORT, via: "literal" })];
      }
      if (d === "" || isIP(d) !== 0) throw new OutboundRefused(`${domain}: not a mail domain`);

      let mx: Array<{ exchange: string; priority: number }>;
      let via: Route["via"] = "mx";
      try {
        mx = await withTimeout(resolver.resolveMx(d), o.timeoutMs, `MX ${d}`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENODATA") throw dnsError(err, `MX ${d}`);
        mx = [];
      }
      if (mx.length === 0) {
        mx = [{ exchange: d, priority: 0 }]; // RFC 5321 5.1: no MX, the domain itself is the implicit MX
        via = "implicit-mx";
      }
      if (mx.some((m) => m.exchange === "" || m.exchange === ".")) throw new OutboundRefused(`${d}: null MX, the domain accepts no mail`);
      mx.sort((a, b) => a.priority - b.priority);

      const routes: Route[] = [];
      const reasons: string[] = [];
      let lastTemp: Error | null = null;
      for (const m of mx) {
        let ips: string[];
        try {
          ips = await addresses(m.exchange);
        } catch (err) {
          lastTemp = err as Error;
          continue;
        }
        for (const ip of ips) {
          const why = check(ip);
          if (why) reasons.push(`${m.exchange} ${ip}: ${why}`);
          else routes.push(approve({ host: m.exchange, ip: normalizeIp(ip), port: SMTP_PORT, via }));
          if (routes.length >= MAX_ROUTES) return routes;
        }
      }
      if (routes.length) return routes;
      if (reasons.length) throw new OutboundRefused(`${d}: refused destination (${reasons.slice(0, 3).join("; ")})`);
      if (lastTemp) throw lastTemp instanceof OutboundRefused ? lastTemp : new OutboundTemporary(lastTemp.message);
      throw new OutboundRefused(`${d}: no address for its mail exchangers`);
    },

    connect(route) {
      if (!approved.has(route)) return Promise.reject(new OutboundRefused(`${route.ip}:${route.port}: not an approved route`));
      return new Promise<Socket>((resolve, reject) => {
        const socket = netConnect({ host: route.ip, port: route.port, family: isIP(route.ip) });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new OutboundTemporary(`connect ${route.ip}:${route.port}: timed out after ${o.timeoutMs} ms`));
        }, o.timeoutMs);
        socket.once("connect", () => {
          clearTimeout(timer);
          socket.removeAllListeners("error");
          socket.on("error", () => {}); // the SMTP client attaches its own handler; never an unhandled 'error'
          if (normalizeIp(socket.remoteAddress) !== normalizeIp(route.ip)) {
            socket.destroy();
            reject(new OutboundRefused(`connected to ${socket.remoteAddress ?? "?"}, not ${route.ip}`));
            return;
          }
          resolve(socket);
        });
        socket.once("error", (err: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          socket.destroy();
          reject(new OutboundTemporary(`connect ${route.ip}:${route.port}: ${err.code ?? err.message}`));
        });
      });
    },
  };
}

/** Why relaytrap may make an HTTP request. Each is off unless the operator turns it on: pushing to the configured
 * collectorUrl, and RDAP abuse-contact lookups of `relaytrap report --to auto`. */
export type HttpPurpose = "collector" | "rdap";

/** THE HTTP client path: the only `fetch` in relaytrap (src/delivery/invariant.test.ts enforces it), so every HTTP
 * request is one of the purposes above. Only http: and https: URLs. */
export function outboundFetch(purpose: HttpPurpose, url: string | URL, init: RequestInit = {}): Promise<Response> {
  const u = typeof url === "string" ? new URL(url) : url;
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    return Promise.reject(new OutboundRefused(`${purpose}: ${u.protocol} URLs are not allowed`));
  }
  return fetch(u, init);
}
