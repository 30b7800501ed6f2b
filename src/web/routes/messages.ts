// Stored messages: the list and its search (a redacted, scan-bounded search for anonymous viewers), one message with
// its session and deliveries, and, for signed-in users, its raw bytes, sanitized HTML and attachments.
import { z } from "zod";
import { MAX_WEB_LIMIT, messageTextBody, searchMessages, type MessageSummary } from "../../store/sqlite/web.js";
import { listDeliveries } from "../../store/sqlite/delivery.js";
import type { MessageRow, StoreReader } from "../../store/types.js";
import { emptyQuery, HttpError, ipParam, KINDS, timeParam } from "../http.js";
import { attachmentContent, contentDisposition, htmlPart } from "../parts.js";
import { json, page, query, toPublicMessage, viewJson, type Ctx, type Route } from "../route.js";
import { sanitizeMailHtml } from "../sanitize.js";

/** Relay tests one anonymous search reads at most (it matches the redacted fields, so it cannot use the index). */
export const PUBLIC_SEARCH_SCAN_ROWS = 5_000;
/** Outbox rows shown with one message (a message has one per dropbox recipient). */
const MAX_DELIVERIES_PER_MESSAGE = 100;

const messagesQuery = z
  .object({
    kind: z.enum(KINDS).optional(),
    src_ip: ipParam.optional(),
    channel: z.enum(["direct", "http-connect", "socks4", "socks5"]).optional(),
    dropbox: z.string().min(1).max(320).optional(),
    q: z.string().max(500).optional(),
    since: timeParam.optional(),
    until: timeParam.optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    before: z.coerce.number().int().positive().optional(),
  })
  .strict();

/**
 * Search for anonymous viewers: matches only what they are shown (the redacted subject and addresses), never the
 * hidden local parts, so it cannot be an oracle for them. It reads relay tests newest first, at most
 * PUBLIC_SEARCH_SCAN_ROWS of them a request; `next` resumes where the read stopped.
 */
function publicSearch(reader: StoreReader, q: z.infer<typeof messagesQuery>): { items: MessageSummary[]; next: string | null } {
  const words = (q.q ?? "").toLowerCase().split(/\s+/).filter((w) => w !== "");
  const dropbox = q.dropbox?.toLowerCase();
  const items: MessageSummary[] = [];
  let before = q.before;
  let scanned = 0;
  while (items.length < q.limit && scanned < PUBLIC_SEARCH_SCAN_ROWS) {
    const want = Math.min(MAX_WEB_LIMIT, PUBLIC_SEARCH_SCAN_ROWS - scanned);
    const batch = searchMessages(reader, { kind: "relay-test", srcIp: q.src_ip, channel: q.channel, since: q.since, until: q.until, before, limit: want });
    for (const m of batch) {
      scanned++;
      before = m.id;
      const p = toPublicMessage(m);
      const text = [p.subject ?? "", p.mailFrom ?? "", ...p.rcptTo].join("\n").toLowerCase();
      if (!words.every((w) => text.includes(w))) continue;
      if (dropbox !== undefined && !p.rcptTo.some((r) => r.toLowerCase() === dropbox)) continue;
      items.push(p);
      if (items.length === q.limit) return { items, next: String(p.id) };
    }
    if (batch.length < want) return { items, next: null };
  }
  return { items, next: before === undefined ? null : String(before) };
}

/** The message, 404 when there is none or an anonymous viewer asks for one that is not a relay test. */
function getMessage(reader: StoreReader, c: Ctx, id: string): MessageRow {
  const m = reader.getMessage(Number(id));
  if (!m) throw new HttpError(404, "no such message");
  if (c.viewer.level !== "admin" && m.kind !== "relay-test") throw new HttpError(404, "no such message");
  return m;
}

/** Whether the message page offers the HTML view: the flag stored when the message was parsed. Parsing the raw here
 * cost ~170 ms of the sensor's thread per view of a 10 MB message, so only rows stored before the flag (NULL) are
 * parsed, as they always were, until `relaytrap reanalyze` records it for them. */
async function hasHtmlPart(reader: StoreReader, m: MessageRow): Promise<boolean> {
  if (m.hasHtml !== null) return m.hasHtml;
  const raw = reader.getRaw(m.id);
  return raw !== null && (await htmlPart(raw)) !== null;
}

function getRawOf(reader: StoreReader, id: number): Buffer {
  const raw = reader.getRaw(id);
  if (!raw) throw new HttpError(404, "the body of this message was not kept");
  return raw;
}

export function createMessageRoutes({ reader }: { reader: StoreReader }): Route[] {
  return [
    {
      method: "GET",
      path: /^\/api\/v1\/messages$/,
      access: "public",
      handler(c) {
        const q = query(c, messagesQuery);
        const publicOnly = c.viewer.level !== "admin";
        if (publicOnly && q.kind !== undefined && q.kind !== "relay-test") throw new HttpError(403, "the public view shows relay tests only");
        if (publicOnly && (q.q !== undefined || q.dropbox !== undefined)) {
          json(c, publicSearch(reader, q));
          return;
        }
        const items = searchMessages(reader, {
          kind: publicOnly ? "relay-test" : q.kind,
          srcIp: q.src_ip,
          channel: q.channel,
          dropbox: q.dropbox,
          q: q.q,
          since: q.since,
          until: q.until,
          before: q.before,
          limit: q.limit,
        });
        json(c, page(c.redact ? items.map(toPublicMessage) : items, q.limit));
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})$/,
      access: "public",
      async handler(c) {
        query(c, emptyQuery);
        const m = getMessage(reader, c, c.params[0]!);
        const session = reader.getSession(m.sessionId);
        const body = {
          ...m,
          textBody: messageTextBody(reader, m.id),
          hasHtml: m.bodyStored && (await hasHtmlPart(reader, m)),
          attachments: m.attachments.map((a, i) => ({ ...a, index: i })),
          session: session ? { id: session.id, startedAt: session.startedAt, tls: session.tls, helo: session.helo } : null,
          delivery: listDeliveries(reader, { limit: MAX_DELIVERIES_PER_MESSAGE, messageId: m.id }),
        };
        viewJson(c, body);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})\/raw$/,
      access: "admin",
      handler(c) {
        query(c, emptyQuery);
        const m = getMessage(reader, c, c.params[0]!);
        const raw = getRawOf(reader, m.id);
        c.res.writeHead(200, {
          "Content-Type": "text/plain; charset=utf-8",
          "Content-Disposition": "inline",
          "Cache-Control": "no-store",
          "Content-Length": raw.length,
        });
        c.res.end(raw);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})\/html$/,
      access: "admin",
      csp: "mail",
      async handler(c) {
        query(c, emptyQuery);
        const m = getMessage(reader, c, c.params[0]!);
        const html = await htmlPart(getRawOf(reader, m.id));
        if (html === null) throw new HttpError(404, "this message has no HTML part");
        const doc =
          '<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"></head><body>' +
          sanitizeMailHtml(html) +
          "</body></html>";
        c.res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(doc) });
        c.res.end(doc);
      },
    },
    {
      method: "GET",
      path: /^\/api\/v1\/messages\/(\d{1,15})\/attachments\/(\d{1,4})$/,
      access: "admin",
      async handler(c) {
        query(c, emptyQuery);
        const m = getMessage(reader, c, c.params[0]!);
        const a = await attachmentContent(getRawOf(reader, m.id), Number(c.params[1]));
        if (!a) throw new HttpError(404, "no such attachment");
        c.res.writeHead(200, {
          "Content-Type": "application/octet-stream",
          "Content-Disposition": contentDisposition("attachment", a.filename),
          "Cache-Control": "no-store",
          "Content-Length": a.content.length,
        });
        c.res.end(a.content);
      },
    },
  ];
}
