// Signing in and out: who the viewer is (and the CSRF token an admin sends back), the rate-limited login that sets the
// session cookie, and logout.
import { z } from "zod";
import { normalizeIp } from "../../net/address.js";
import { SESSION_COOKIE, type Guard } from "../guard.js";
import { emptyQuery, HttpError } from "../http.js";
import { json, jsonBody, query, type Route } from "../route.js";

const loginBody = z.object({ name: z.string().min(1).max(200), password: z.string().min(1).max(1000) }).strict();

export function createAuthRoutes({ guard, publicView, sessionTtlMs }: { guard: Guard; publicView: boolean; sessionTtlMs: number }): Route[] {
  const { auth } = guard;
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/me$/,
      access: "open",
      handler(c) {
        query(c, emptyQuery);
        json(c, {
          user: c.viewer.level === "admin" ? (c.viewer.session?.user ?? null) : null,
          level: c.viewer.level,
          authEnabled: auth.enabled,
          public: publicView,
          csrf: guard.csrfTokenOf(c.viewer),
        });
      },
    },
    {
      method: "POST",
      path: /^\/api\/v1\/login$/,
      access: "open",
      async handler(c) {
        guard.requireSameOrigin(c.req);
        if (!auth.enabled) throw new HttpError(409, "no users are configured; no login needed");
        const body = await jsonBody(c, loginBody);
        const client = normalizeIp(c.req.socket.remoteAddress);
        const r = await auth.login(client, body.name, body.password);
        if (r.result === "limited") {
          c.res.setHeader("Retry-After", "60");
          throw new HttpError(429, "too many failed logins; try again in a minute");
        }
        if (r.result !== "ok") throw new HttpError(401, "wrong user name or password");
        const secure = (c.req.socket as { encrypted?: boolean }).encrypted === true || c.req.headers["x-forwarded-proto"] === "https";
        c.res.setHeader(
          "Set-Cookie",
          `${SESSION_COOKIE}=${r.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(sessionTtlMs / 1000)}${secure ? "; Secure" : ""}`,
        );
        json(c, { user: r.session.user, csrf: r.session.csrf });
      },
    },
    {
      method: "POST",
      path: /^\/api\/v1\/logout$/,
      access: "admin",
      handler(c) {
        guard.requireCsrf(c);
        auth.logout(guard.sessionToken(c.req));
        c.res.setHeader("Set-Cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
        json(c, { ok: true });
      },
    },
  ];
}
