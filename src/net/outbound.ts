// THE outbound allow-list: the only code in relaytrap that opens an outbound connection. A destination is the
// configured smarthost, or a public MX (A/AAAA) of the recipient's domain; private, loopback, link-local and other
// non-global addresses from DNS are refused unless allowPrivateMx is set, and the sensor's own addresses always are.
// connect() only accepts a Route this module approved, and only dials its IP (no DNS at connect time).
import { promises as dnsPromises } from "node:dns";
import { connect as netConnect, isIP, type Socket } from "node:net";
import ipaddr from "ipaddr.js";
import { normalizeIp, parseHostPort } from "./address.js";
import { canonicalIp, classifyIp } from "./ip-scope.js";

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
  /** Opens the socket (default net.connect); tests pass one that records every dial and goes to loopback instead. */
  dial?: (options: { host: string; port: number; family: number }) => Socket;
}

export interface Outbound {
  /** Approved destinations for a recipient domain ("example.com", "[192.0.2.1]"), best first. */
  routes(domain: string): Promise<Route[]>;
  /** Dials an approved route. */
  connect(route: Route): Promise<Socket>;
}

/** Why an address is not a public unicast destination, or null when it is (see ip-scope.ts: every textual form,
 * IPv4 inside IPv6 included, is judged in canonical form). */
export function nonGlobalReason(ip: string): string | null {
  return classifyIp(ip).reason;
}

/** An RFC 5321 address literal: "[1.2.3.4]" (dotted quad only) or "[IPv6:...]"; the address text, or null. */
function addressLiteral(domain: string): string | null {
  const m = /^\[(ipv6:)?([^\]]*)\]$/i.exec(domain);
  if (!m) return null;
  const text = m[2]!;
  return isIP(text) === (m[1] ? 6 : 4) ? text : "";
}

/** A domain some resolver could read as an address (inet_aton shorthands "0x7f.1", "2130706433", "127.1", an IPv6
 * text) or that has an all-numeric top label: never a mail domain. */
function looksLikeAddress(domain: string): boolean {
  return isIP(domain) !== 0 || ipaddr.isValid(domain) || domain.includes(":") || /(?:^|\.)(?:\d+|0x[0-9a-f]*)$/i.test(domain);
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
  const dial = o.dial ?? ((opts: { host: string; port: number; family: number }) => netConnect(opts));
  const refused = new Set(o.refuseIps.map(normalizeIp));
  // Routes handed out by routes(); connect() dials nothing else.
  const approved = new WeakSet<Route>();
  const smarthost = o.smarthost ? parseHostPort(o.smarthost) : null;
  if (o.smarthost && !smarthost) throw new Error(`delivery.smarthost: expected HOST:PORT, got "${o.smarthost}"`);

  const approve = (r: Route): Route => {
    approved.add(r);
    return r;
  };

  /** The MX-path check: public unicast, not ours (unless local destinations were explicitly allowed). Returns the
   * canonical address to dial, or why not. */
  const check = (ip: string): { ip: string; why: null } | { ip: null; why: string } => {
    const s = classifyIp(ip);
    if (s.canonical === null) return { ip: null, why: s.reason ?? "not an IP address" };
    if (refused.has(s.canonical) || (s.embedded !== null && refused.has(s.embedded))) return { ip: null, why: "the sensor's own address" };
    if (s.reason === null || (o.allowPrivateMx && s.local)) return { ip: s.canonical, why: null };
    return { ip: null, why: s.reason };
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
      if (d.startsWith("[")) {
        const literal = addressLiteral(d);
        if (!literal) throw new OutboundRefused(`${domain}: bad address literal`);
        const c = check(literal);
        if (c.ip === null) throw new OutboundRefused(`${domain}: refused destination (${c.why})`);
        return [approve({ host: d, ip: c.ip, port: SMTP_PORT, via: "literal" })];
      }
      if (d === "" || looksLikeAddress(d)) throw new OutboundRefused(`${domain}: not a mail domain`);

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
          const c = check(ip);
          if (c.ip === null) reasons.push(`${m.exchange} ${String(ip).slice(0, 64)}: ${c.why}`);
          else routes.push(approve({ host: m.exchange, ip: c.ip, port: SMTP_PORT, via }));
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
      // Approved means checked; checked again here, so no later change to routes() can open a way round the check.
      if (route.via !== "smarthost") {
        const c = check(route.ip);
        if (c.ip !== route.ip) return Promise.reject(new OutboundRefused(`${route.ip}: refused destination (${c.why ?? "not canonical"})`));
      }
      return new Promise<Socket>((resolve, reject) => {
        const socket = dial({ host: route.ip, port: route.port, family: isIP(route.ip) });
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new OutboundTemporary(`connect ${route.ip}:${route.port}: timed out after ${o.timeoutMs} ms`));
        }, o.timeoutMs);
        socket.once("connect", () => {
          clearTimeout(timer);
          socket.removeAllListeners("error");
          socket.on("error", () => {}); // the SMTP client attaches its own handler; never an unhandled 'error'
          if (canonicalIp(socket.remoteAddress ?? "") !== (canonicalIp(route.ip) ?? route.ip)) {
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
