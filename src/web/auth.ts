// Web UI authentication: scrypt password hashes, in-memory login sessions with a CSRF token each, a login rate limit.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from "node:crypto";

/** scrypt cost parameters for new hashes (~50 ms, 16 MiB). */
export const SCRYPT_N = 16384;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
const KEY_LEN = 32;
/** Login sessions kept at most (oldest dropped first). */
export const MAX_LOGIN_SESSIONS = 1000;
/** Client addresses the login rate limiter remembers. */
const MAX_TRACKED_CLIENTS = 10_000;

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keyLen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

/** "scrypt$N$r$p$salt$hash" (salt and hash base64). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LEN, { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${SCRYPT_N}$${SCRYPT_R}$${SCRYPT_P}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 1 << 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4]!, "base64");
  const want = Buffer.from(parts[5]!, "base64");
  if (want.length < 16) return false;
  try {
    const got = await scrypt(password, salt, want.length, { N, r, p, maxmem: 256 * N * r + 32 * 1024 * 1024 });
    return timingSafeEqual(got, want);
  } catch {
    return false;
  }
}

export interface WebUser {
  name: string;
  passwordHash: string;
}

export interface LoginSession {
  user: string;
  csrf: string;
  expires: number;
}

export interface Auth {
  /** True when users are configured (a login is needed for anything not public). */
  readonly enabled: boolean;
  /** "ok" with a new session token, "bad" credentials, or "limited" (too many failures from this client). */
  login(client: string, name: string, password: string): Promise<{ result: "ok"; token: string; session: LoginSession } | { result: "bad" | "limited" }>;
  session(token: string | undefined): LoginSession | null;
  logout(token: string | undefined): void;
}

const DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

export function createAuth(opts: { users: WebUser[]; sessionTtlMs: number; attemptsPerMinute: number; now?: () => number }): Auth {
  const now = opts.now ?? Date.now;
  const sessions = new Map<string, LoginSession>();
  /** Per client: attempts counted this window, failed or still being checked (a success gives its own back). */
  const attempts = new Map<string, { count: number; windowStart: number }>();

  /** Counts an attempt before the password is checked, so a burst sent at once cannot pass the limit while the checks
   * run; false when the client has used up its attempts this minute. */
  function reserve(client: string): { count: number; windowStart: number } | null {
    let f = attempts.get(client);
    if (f && now() - f.windowStart >= 60_000) {
      attempts.delete(client);
      f = undefined;
    }
    if (!f) {
      if (attempts.size >= MAX_TRACKED_CLIENTS) attempts.delete(attempts.keys().next().value!);
      f = { count: 0, windowStart: now() };
      attempts.set(client, f);
    }
    if (f.count >= opts.attemptsPerMinute) return null;
    f.count++;
    return f;
  }

  return {
    enabled: opts.users.length > 0,
    async login(client, name, password) {
      const slot = reserve(client);
      if (!slot) return { result: "limited" };
      const user = opts.users.find((u) => u.name === name);
      // Hash even for an unknown user, so timing does not tell which names exist.
      const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
      // A failure keeps its slot; a success gives back only its own (other attempts' failures stand).
      if (!ok || !user) return { result: "bad" };
      if (slot.count > 0) slot.count--;
      if (sessions.size >= MAX_LOGIN_SESSIONS) sessions.delete(sessions.keys().next().value!);
      const token = randomBytes(32).toString("base64url");
      const session = { user: user.name, csrf: randomBytes(24).toString("base64url"), expires: now() + opts.sessionTtlMs };
      sessions.set(token, session);
      return { result: "ok", token, session };
    },
    session(token) {
      if (!token) return null;
      const s = sessions.get(token);
      if (!s) return null;
      if (s.expires <= now()) {
        sessions.delete(token);
        return null;
      }
      return s;
    },
    logout(token) {
      if (token) sessions.delete(token);
    },
  };
}

/** Constant-time string comparison for CSRF tokens. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
