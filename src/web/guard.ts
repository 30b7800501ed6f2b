// Who is asking and whether they may: the viewer a session cookie names, the route access levels, the Host check that
// keeps DNS rebinding away from a login-less UI, and the same-origin and CSRF checks of state-changing requests.
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";
import { randomBytes } from "node:crypto";
import { parseHostPort } from "../net/address.js";
import { sameToken, type Auth, type LoginSession } from "./auth.js";
import { HttpError } from "./http.js";

export const SESSION_COOKIE = "relaytrap_session";

/** Who may call a route: anyone, anonymous viewers of a public sensor as well, or signed-in users only. */
export type Access = "open" | "public" | "admin";
export type Viewer = { level: "admin"; session: LoginSession | null } | { level: "public" } | { level: "none" };

export interface Guard {
  readonly auth: Auth;
  /** The session token the request's cookie carries, if any. */
  sessionToken(req: IncomingMessage): string | undefined;
  viewerOf(req: IncomingMessage): Viewer;
  /** Throws 401/403 unless the viewer may call a route of this access level. */
  requireAccess(access: Access, viewer: Viewer): void;
  /** The CSRF token an admin sends back with state-changing requests (null for anyone else). */
  csrfTokenOf(viewer: Viewer): string | null;
  /** Without users the UI trusts loopback; other Host names are refused so DNS rebinding cannot reach it. */
  requireKnownHost(req: IncomingMessage): void;
  requireSameOrigin(req: IncomingMessage): void;
  requireCsrf(c: { req: IncomingMessage; viewer: Viewer }): void;
}

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  return out;
}

/** Host header without the port, brackets removed. */
function hostOnly(host: string | undefined): string {
  if (!host) return "";
  const hp = parseHostPort(host);
  if (hp) return hp.host.toLowerCase();
  return host.replace(/^\[|\]$/g, "").toLowerCase();
}

/** `publicView`: config web.public, anonymous viewers may read the public (redacted) pages. */
export function createGuard(o: { auth: Auth; publicView: boolean }): Guard {
  const { auth } = o;
  /** Without users (loopback only) state-changing requests still need this token, read from /api/v1/me. */
  const localCsrf = randomBytes(24).toString("base64url");

  const guard: Guard = {
    auth,
    sessionToken: (req) => parseCookies(req.headers.cookie).get(SESSION_COOKIE),
    viewerOf(req) {
      if (!auth.enabled) return { level: "admin", session: null };
      const s = auth.session(guard.sessionToken(req));
      if (s) return { level: "admin", session: s };
      return o.publicView ? { level: "public" } : { level: "none" };
    },
    requireAccess(access, viewer) {
      if (access === "admin" && viewer.level !== "admin") throw new HttpError(viewer.level === "none" && auth.enabled ? 401 : 403, "login required");
      if (access === "public" && viewer.level === "none") throw new HttpError(401, "login required");
    },
    csrfTokenOf(v) {
      if (v.level !== "admin") return null;
      return v.session ? v.session.csrf : localCsrf;
    },
    requireKnownHost(req) {
      if (auth.enabled) return;
      const h = hostOnly(req.headers.host);
      if (!(h === "localhost" || isIP(h) !== 0)) throw new HttpError(421, "unexpected Host header");
    },
    /** A browser names the page a request came from in Origin; one from another site is refused (login CSRF, and a
     * second check beside the token). Clients that send no Origin (curl, scripts) are judged by the token alone. */
    requireSameOrigin(req) {
      const origin = req.headers.origin;
      if (origin === undefined) return;
      let ok = false;
      try {
        ok = new URL(origin).host === req.headers.host;
      } catch {}
      if (!ok) throw new HttpError(403, "cross-origin request refused");
    },
    requireCsrf(c) {
      guard.requireSameOrigin(c.req);
      const token = guard.csrfTokenOf(c.viewer);
      const sent = c.req.headers["x-csrf-token"];
      if (token === null || !sameToken(typeof sent === "string" ? sent : undefined, token)) throw new HttpError(403, "missing or wrong CSRF token");
    },
  };
  return guard;
}
