// Address helpers: HOST:PORT parsing, IP normalisation, loopback checks (by parsed address, and for host names by
// what they resolve to).
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, type Server } from "node:net";
import ipaddr from "ipaddr.js";
import { canonicalIp } from "./ip-scope.js";

export interface HostPort {
  host: string;
  port: number;
}

/** Parses "0.0.0.0:25", "[::1]:2525", "localhost:25". Returns null when malformed. */
export function parseHostPort(s: string): HostPort | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(s) ?? /^([^:\s]+):(\d{1,5})$/.exec(s);
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const port = Number(m[2]);
  if (port > 65535) return null;
  if (s.startsWith("[") && isIP(m[1]) !== 6) return null;
  return { host: m[1], port };
}

/** Listens on `hostPort` ("HOST:PORT", port 0 for any) and resolves with the port bound; rejects with the bind error
 * (EADDRINUSE, EACCES) or, naming the listener by `what`, a malformed address. `host` is the one asked for
 * ("localhost"), `boundHost` the address the socket has ("127.0.0.1"). */
export async function listenOn(server: Server, hostPort: string, what: string, backlog?: number): Promise<HostPort & { boundHost: string }> {
  const hp = parseHostPort(hostPort);
  if (!hp) throw new Error(`bad ${what} listen address ${hostPort}`);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: hp.host, port: hp.port, ...(backlog === undefined ? {} : { backlog }) }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const a = server.address();
  return typeof a === "object" && a ? { host: hp.host, port: a.port, boundHost: a.address } : { ...hp, boundHost: hp.host };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The canonical form of an IP address (ip-scope.ts: IPv4-mapped IPv6 in any spelling as IPv4, IPv6 per RFC 5952);
 * anything else lower-cased. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return "";
  // Fast paths for what sockets report on every connection ("1.2.3.4", "::ffff:1.2.3.4"): already canonical.
  if (isIP(ip) === 4) return ip;
  if (ip.startsWith("::ffff:") && isIP(ip.slice(7)) === 4) return ip.slice(7);
  return canonicalIp(ip) ?? ip.toLowerCase();
}

/** True for an IP address in 127.0.0.0/8 or ::1 (also IPv4-mapped), classified by ipaddr.js. A host name is never
 * loopback by its spelling ("127.rt-trap" may resolve anywhere): resolve it first (`resolvesToLoopback`). */
export function isLoopback(ip: string): boolean {
  if (isIP(ip) === 0) return false;
  try {
    return ipaddr.process(ip).range() === "loopback";
  } catch {
    return false;
  }
}

/** Every address a host resolves to; an IP literal is its own answer. Injected in tests. */
export type LookupAll = (host: string) => Promise<string[]>;

export const lookupAll: LookupAll = async (host) => {
  if (isIP(host) !== 0) return [host];
  return (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
};

/** Resolves `host` (with `lookup`) and tells whether every address it has is loopback; rejects when it does not
 * resolve. An IP literal is judged as it is. */
export async function resolvesToLoopback(host: string, lookup: LookupAll = lookupAll): Promise<{ loopback: boolean; addresses: string[] }> {
  const addresses = isIP(host) !== 0 ? [host] : await lookup(host);
  return { loopback: addresses.length > 0 && addresses.every(isLoopback), addresses };
}
