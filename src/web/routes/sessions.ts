// One SMTP session for signed-in users: its record (commands, TLS, HELO) and the messages it sent.
import type { StoreReader } from "../../store/types.js";
import { searchMessages } from "../../store/sqlite/web.js";
import { emptyQuery, HttpError } from "../http.js";
import { json, query, type Route } from "../route.js";

/** Messages listed with one session. */
export const SESSION_MESSAGES_LIMIT = 100;

export function createSessionRoutes({ reader }: { reader: StoreReader }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/sessions\/([A-Za-z0-9_.:-]{1,128})$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        const s = reader.getSession(c.params[0]!);
        if (!s) throw new HttpError(404, "no such session");
        json(c, { ...s, messageList: searchMessages(reader, { sessionId: s.id, limit: SESSION_MESSAGES_LIMIT }) });
      },
    },
  ];
}
