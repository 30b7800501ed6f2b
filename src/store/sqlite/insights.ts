// Read queries behind the dashboard's top-N tables (HELO names, testers, AUTH credentials tried) and the spam rows the
// campaign grouping works on. Each reads the rows of a time range by its index; callers cache the answers.
import type { CampaignInput } from "../../analysis/campaigns.js";
import type { StoreReader } from "../types.js";
import { parseJsonArray } from "./web.js";

/** Text body characters a campaign's body hash covers (a run's copies differ, if at all, further down). */
export const CAMPAIGN_BODY_CHARS = 16_384;

export interface TopRow {
  name: string;
  count: number;
  sources: number;
  lastSeen: number;
}

/** The commonest HELO/EHLO names of sessions since a time. */
export function topHelos(r: StoreReader, since: number, limit: number): TopRow[] {
  return r.all<TopRow>(
    `SELECT helo AS name, COUNT(*) AS count, COUNT(DISTINCT src_ip) AS sources, MAX(started_at) AS lastSeen
     FROM sessions WHERE started_at >= ? AND helo IS NOT NULL AND helo != '' GROUP BY helo ORDER BY count DESC, name LIMIT ?`,
    since,
    limit,
  );
}

/** Relay tests since a time by the tester signature their verdict named. */
export function topTesters(r: StoreReader, since: number, limit: number): TopRow[] {
  return r.all<TopRow>(
    `SELECT json_extract(verdict, '$.tester') AS name, COUNT(*) AS count, COUNT(DISTINCT src_ip) AS sources, MAX(received_at) AS lastSeen
     FROM messages WHERE kind = 'relay-test' AND received_at >= ? AND json_valid(verdict) AND json_extract(verdict, '$.tester') IS NOT NULL
     GROUP BY 1 ORDER BY count DESC, name LIMIT ?`,
    since,
    limit,
  );
}

export interface CredentialRow {
  mechanism: string;
  username: string | null;
  password: string | null;
  count: number;
  sources: number;
  lastSeen: number;
}

/** AUTH attempts of sessions since a time, by user name and password tried. */
export function topCredentials(r: StoreReader, since: number, limit: number): CredentialRow[] {
  return r.all<CredentialRow>(
    `SELECT json_extract(a.value, '$.mechanism') AS mechanism, json_extract(a.value, '$.username') AS username,
       json_extract(a.value, '$.password') AS password, COUNT(*) AS count, COUNT(DISTINCT s.src_ip) AS sources, MAX(s.started_at) AS lastSeen
     FROM sessions s, json_each(CASE WHEN json_valid(s.auth) THEN s.auth ELSE '[]' END) a
     WHERE s.started_at >= ? AND s.auth IS NOT NULL AND s.auth != '[]'
     GROUP BY 2, 3 ORDER BY count DESC, username LIMIT ?`,
    since,
    limit,
  );
}


/** The newest spam messages since a time, at most `limit`, in the form the campaign grouping reads. */
export function campaignInputs(r: StoreReader, since: number, limit: number): CampaignInput[] {
  return r
    .all<{ id: number; receivedAt: number; srcIp: string; rcptTo: string; subject: string | null; text: string | null }>(
      `SELECT id, received_at AS receivedAt, src_ip AS srcIp, rcpt_to AS rcptTo, subject, substr(text_body, 1, ?) AS text
       FROM messages WHERE kind = 'spam' AND received_at >= ? ORDER BY received_at DESC LIMIT ?`,
      CAMPAIGN_BODY_CHARS,
      since,
      limit,
    )
    .map((x) => ({ ...x, rcptTo: parseJsonArray(x.rcptTo) }));
}
