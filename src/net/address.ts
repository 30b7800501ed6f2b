// Address helpers: HOST:PORT parsing, IP normalisation, loopback checks.
import { isIP } from "node:net";

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

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Strips the IPv4-mapped IPv6 prefix ("::ffff:1.2.3.4" -> "1.2.3.4") and lower-cases IPv6. */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return "";
  const lower = ip.toLowerCase();
  if (lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return lower;
}

export function isLoopback(ip: string): boolean {
  const n = normalizeIp(ip);
  return n === "::1" || /^127\./.test(n) || n === "localhost";
}
