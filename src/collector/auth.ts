// Collector tokens: per-sensor bearer tokens ("sensor:token" or "sensor:sha256$HEX") and read-only tokens. Only
// SHA-256 hashes are kept in memory; a presented token is hashed and looked up (tokens are long random strings).
import { createHash, randomBytes } from "node:crypto";

export type Principal = { kind: "sensor"; sensor: string } | { kind: "reader" };

export function hashToken(token: string): string {
  return "sha256$" + createHash("sha256").update(token, "utf8").digest("hex");
}

/** A new random token (for `relaytrap collector-token NAME`). */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

const HASHED = /^sha256\$[0-9a-f]{64}$/;

function asHash(secret: string): string {
  return HASHED.test(secret) ? secret : hashToken(secret);
}

export interface TokenTable {
  authenticate(authorization: string | undefined): Principal | null;
  sensors: string[];
}

export function createTokenTable(sensorTokens: string[], readTokens: string[]): TokenTable {
  const byHash = new Map<string, Principal>();
  for (const entry of sensorTokens) {
    const i = entry.indexOf(":");
    const sensor = entry.slice(0, i);
    const h = asHash(entry.slice(i + 1));
    const prev = byHash.get(h);
    if (prev && !(prev.kind === "sensor" && prev.sensor === sensor)) throw new Error(`collector.tokens: two sensors share a token (${sensor})`);
    byHash.set(h, { kind: "sensor", sensor });
  }
  for (const t of readTokens) {
    const h = asHash(t);
    if (!byHash.has(h)) byHash.set(h, { kind: "reader" });
  }
  return {
    sensors: [...new Set([...byHash.values()].flatMap((p) => (p.kind === "sensor" ? [p.sensor] : [])))],
    authenticate(authorization) {
      const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(authorization ?? "");
      if (!m) return null;
      return byHash.get(hashToken(m[1]!)) ?? null;
    },
  };
}
