// Abuse contacts by RDAP (RFC 9083): the IANA bootstrap files (RFC 9224; base URL configurable, cached in the data
// directory) name the registry's RDAP server for an IP or a domain; the answer's entities are walked (nested ones too)
// for the `abuse` role and its vCard e-mail. Without one, domains fall back to abuse@domain (RFC 2142 convention).
// Only `relaytrap report --to auto` looks anything up: an operator-triggered request, never automatic.
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { join } from "node:path";
import { outboundFetch } from "../net/outbound.js";

/** Largest bootstrap file or RDAP answer read. */
export const MAX_RDAP_BYTES = 4 * 1024 * 1024;
/** Deepest entity nesting walked. */
export const MAX_ENTITY_DEPTH = 6;
/** Most abuse addresses returned. */
export const MAX_ABUSE_EMAILS = 5;

export interface RdapOptions {
  /** Directory with ipv4.json, ipv6.json, dns.json (IANA: https://data.iana.org/rdap/). */
  bootstrapUrl: string;
  /** Where bootstrap files are cached; null: no cache. */
  cacheDir: string | null;
  cacheMaxAgeMs: number;
  timeoutMs: number;
  now?: () => number;
}

export interface AbuseContact {
  target: string;
  emails: string[];
  /** "rdap": from the registry; "fallback": abuse@domain; "none": nothing found. */
  source: "rdap" | "fallback" | "none";
  /** The RDAP URL asked. */
  url: string | null;
  error?: string;
}

type Bootstrap = { services: Array<[string[], string[]]> };

async function getLimited(url: string, timeoutMs: number): Promise<unknown> {
  const res = await outboundFetch("rdap", url, { headers: { Accept: "application/rdap+json, application/json" }, signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  if (Number(res.headers.get("content-length") ?? "0") > MAX_RDAP_BYTES) throw new Error(`${url}: answer too large`);
  const chunks: Uint8Array[] = [];
  let n = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      n += chunk.length;
      if (n > MAX_RDAP_BYTES) throw new Error(`${url}: answer too large`);
      chunks.push(chunk);
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new Error(`${url}: not JSON`);
  }
}

function isBootstrap(v: unknown): v is Bootstrap {
  return (
    v !== null &&
    typeof v === "object" &&
    Array.isArray((v as Bootstrap).services) &&
    (v as Bootstrap).services.every((s) => Array.isArray(s) && Array.isArray(s[0]) && Array.isArray(s[1]))
  );
}

function pickBase(urls: string[]): string | null {
  const good = urls.filter((u) => typeof u === "string" && /^https?:\/\//i.test(u));
  const best = good.find((u) => /^https:/i.test(u)) ?? good[0];
  return best ? (best.endsWith("/") ? best : best + "/") : null;
}

/** The RDAP base URL for an IP: the longest matching prefix in the bootstrap file. */
export function serverForIp(b: Bootstrap, ip: string): string | null {
  const family = isIP(ip);
  if (family === 0) return null;
  let best: { len: number; base: string } | null = null;
  for (const [prefixes, urls] of b.services) {
    for (const p of prefixes) {
      const [net, lenText] = String(p).split("/");
      const len = Number(lenText);
      if (!net || !Number.isInteger(len) || isIP(net) !== family) continue;
      const bl = new BlockList();
      try {
        bl.addSubnet(net, len, family === 4 ? "ipv4" : "ipv6");
      } catch {
        continue;
      }
      if (bl.check(ip, family === 4 ? "ipv4" : "ipv6") && (!best || len > best.len)) {
        const base = pickBase(urls);
        if (base) best = { len, base };
      }
    }
  }
  return best?.base ?? null;
}

/** The RDAP base URL for a domain: the longest matching label suffix (TLD, or more specific entries). */
export function serverForDomain(b: Bootstrap, domain: string): string | null {
  const d = domain.toLowerCase().replace(/\.$/, "");
  let best: { len: number; base: string } | null = null;
  for (const [suffixes, urls] of b.services) {
    for (const s of suffixes) {
      const x = String(s).toLowerCase();
      if ((d === x || d.endsWith("." + x)) && (!best || x.length > best.len)) {
        const base = pickBase(urls);
        if (base) best = { len: x.length, base };
      }
    }
  }
  return best?.base ?? null;
}

function emailsOf(vcard: unknown): string[] {
  if (!Array.isArray(vcard) || vcard[0] !== "vcard" || !Array.isArray(vcard[1])) return [];
  const out: string[] = [];
  for (const prop of vcard[1] as unknown[]) {
    if (Array.isArray(prop) && prop[0] === "email" && typeof prop[3] === "string") out.push(prop[3].trim().toLowerCase());
  }
  return out.filter((e) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e));
}

/** Abuse e-mail addresses from an RDAP object: entities with the `abuse` role, nested entities included. */
export function abuseEmails(obj: unknown, depth = 0): string[] {
  if (depth > MAX_ENTITY_DEPTH || obj === null || typeof obj !== "object") return [];
  const entities = (obj as { entities?: unknown }).entities;
  if (!Array.isArray(entities)) return [];
  const out: string[] = [];
  for (const e of entities) {
    if (e === null || typeof e !== "object") continue;
    const roles = (e as { roles?: unknown }).roles;
    if (Array.isArray(roles) && roles.includes("abuse")) out.push(...emailsOf((e as { vcardArray?: unknown }).vcardArray));
    out.push(...abuseEmails(e, depth + 1));
  }
  return [...new Set(out)].slice(0, MAX_ABUSE_EMAILS);
}

/** The registrable-looking part of a host name (last two labels; three for a few second-level public suffixes). */
export function baseDomain(domain: string): string {
  const labels = domain.toLowerCase().replace(/\.$/, "").split(".");
  const three = /^(co|com|net|org|ac|gov|edu|ne|or)\.[a-z]{2}$/.test(labels.slice(-2).join("."));
  return labels.slice(three ? -3 : -2).join(".");
}

export interface Rdap {
  abuseForIp(ip: string): Promise<AbuseContact>;
  abuseForDomain(domain: string): Promise<AbuseContact>;
}

export function createRdap(o: RdapOptions): Rdap {
  const now = o.now ?? Date.now;
  const root = o.bootstrapUrl.endsWith("/") ? o.bootstrapUrl : o.bootstrapUrl + "/";
  const memo = new Map<string, Bootstrap>();

  async function bootstrap(file: "ipv4.json" | "ipv6.json" | "dns.json"): Promise<Bootstrap> {
    const hit = memo.get(file);
    if (hit) return hit;
    const cached = o.cacheDir ? join(o.cacheDir, `rdap-bootstrap-${file}`) : null;
    if (cached) {
      try {
        if (now() - statSync(cached).mtimeMs < o.cacheMaxAgeMs) {
          const v: unknown = JSON.parse(readFileSync(cached, "utf8"));
          if (isBootstrap(v)) {
            memo.set(file, v);
            return v;
          }
        }
      } catch {}
    }
    const v = await getLimited(root + file, o.timeoutMs);
    if (!isBootstrap(v)) throw new Error(`${root + file}: not an RDAP bootstrap file`);
    if (cached) {
      try {
        mkdirSync(o.cacheDir!, { recursive: true });
        writeFileSync(cached + ".tmp", JSON.stringify(v));
        renameSync(cached + ".tmp", cached);
      } catch {}
    }
    memo.set(file, v);
    return v;
  }

  return {
    async abuseForIp(ip) {
      let url: string | null = null;
      try {
        const base = serverForIp(await bootstrap(isIP(ip) === 6 ? "ipv6.json" : "ipv4.json"), ip);
        if (!base) return { target: ip, emails: [], source: "none", url: null, error: "no RDAP server for this address" };
        url = `${base}ip/${encodeURIComponent(ip)}`;
        const emails = abuseEmails(await getLimited(url, o.timeoutMs));
        return emails.length ? { target: ip, emails, source: "rdap", url } : { target: ip, emails: [], source: "none", url, error: "no abuse contact" };
      } catch (err) {
        return { target: ip, emails: [], source: "none", url, error: (err as Error).message };
      }
    },
    async abuseForDomain(domain) {
      const d = baseDomain(domain);
      const fallback = (url: string | null, error?: string): AbuseContact => ({ target: d, emails: [`abuse@${d}`], source: "fallback", url, ...(error ? { error } : {}) });
      let url: string | null = null;
      try {
        const base = serverForDomain(await bootstrap("dns.json"), d);
        if (!base) return fallback(null, "no RDAP server for this domain");
        url = `${base}domain/${encodeURIComponent(d)}`;
        const emails = abuseEmails(await getLimited(url, o.timeoutMs));
        return emails.length ? { target: d, emails, source: "rdap", url } : fallback(url);
      } catch (err) {
        return fallback(url, (err as Error).message);
      }
    },
  };
}
