// SQLite side of dropbox learning: the dropbox, recipient and address-source tables (who named or mailed which address
// from where), the "recurring recipient" rule, and their expiry. Writes go through the single writer.
import type { DropboxRow, DropboxStore, RecipientRow, RecipientSighting, RecurringRule, Sighting } from "../delivery.js";
import type { StoreReader, StoreWriter } from "../types.js";

/** Recipients of one message counted in the recipient table (a message has at most the RCPT limit anyway). */
export const MAX_SIGHTING_RECIPIENTS = 1000;

type Stmt = { sql: string; params: unknown[] };

const SQL = {
  source: `INSERT INTO address_sources (role, address, src_ip, last_seen) VALUES (@role, @a, @ip, @t)
    ON CONFLICT (role, address, src_ip) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`,
  dropbox: `INSERT INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
    VALUES (@a, @t, @t, 1, (SELECT COUNT(*) FROM address_sources WHERE role = 'd' AND address = @a), @tester, 'relay-test')
    ON CONFLICT (address) DO UPDATE SET first_seen = MIN(dropboxes.first_seen, excluded.first_seen),
      last_seen = MAX(dropboxes.last_seen, excluded.last_seen), tests = dropboxes.tests + 1,
      distinct_sources = excluded.distinct_sources, tester = COALESCE(excluded.tester, dropboxes.tester), source = 'relay-test'`,
  recipient: `INSERT INTO recipients (recipient, messages, distinct_sources, first_seen, last_seen)
    VALUES (@a, @n, (SELECT COUNT(*) FROM address_sources WHERE role = 'r' AND address = @a), @first, @t)
    ON CONFLICT (recipient) DO UPDATE SET messages = recipients.messages + @n, distinct_sources = excluded.distinct_sources,
      first_seen = MIN(recipients.first_seen, excluded.first_seen), last_seen = MAX(recipients.last_seen, excluded.last_seen)`,
  recurring: `INSERT INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
    SELECT recipient, first_seen, last_seen, 0, distinct_sources, NULL, 'recurring' FROM recipients
    WHERE recipient = @a AND messages >= @minMessages AND distinct_sources >= @minSources
    ON CONFLICT (address) DO UPDATE SET last_seen = MAX(dropboxes.last_seen, excluded.last_seen),
      distinct_sources = CASE WHEN dropboxes.source = 'recurring' THEN excluded.distinct_sources ELSE dropboxes.distinct_sources END`,
  seen: `UPDATE dropboxes SET last_seen = MAX(last_seen, @t) WHERE address = @a`,
  // The same four steps for a whole batch of spam recipients (a JSON array of {a, ip, n, first, t}), in four
  // statements instead of four per recipient: a spam run names thousands of distinct recipients, and per-row
  // statements cost the writer ~2 ms per 50-recipient message. Rows are upserted one by one in array order, as the
  // per-row statements did; the recurring check and last_seen refresh run once per address, after all its rows.
  sourcesMany: `INSERT INTO address_sources (role, address, src_ip, last_seen)
    SELECT 'r', json_extract(value, '$.a'), json_extract(value, '$.ip'), json_extract(value, '$.t') FROM json_each(@batch) WHERE true
    ON CONFLICT (role, address, src_ip) DO UPDATE SET last_seen = MAX(last_seen, excluded.last_seen)`,
  recipientsMany: `INSERT INTO recipients (recipient, messages, distinct_sources, first_seen, last_seen)
    SELECT a, n, (SELECT COUNT(*) FROM address_sources WHERE role = 'r' AND address = a), first, t
    FROM (SELECT json_extract(value, '$.a') AS a, json_extract(value, '$.n') AS n, json_extract(value, '$.first') AS first,
      json_extract(value, '$.t') AS t FROM json_each(@batch)) WHERE true
    ON CONFLICT (recipient) DO UPDATE SET messages = recipients.messages + excluded.messages,
      distinct_sources = excluded.distinct_sources, first_seen = MIN(recipients.first_seen, excluded.first_seen),
      last_seen = MAX(recipients.last_seen, excluded.last_seen)`,
  recurringMany: `INSERT INTO dropboxes (address, first_seen, last_seen, tests, distinct_sources, tester, source)
    SELECT recipient, first_seen, last_seen, 0, distinct_sources, NULL, 'recurring' FROM recipients
    WHERE recipient IN (SELECT json_extract(value, '$.a') FROM json_each(@batch))
      AND messages >= @minMessages AND distinct_sources >= @minSources
    ON CONFLICT (address) DO UPDATE SET last_seen = MAX(dropboxes.last_seen, excluded.last_seen),
      distinct_sources = CASE WHEN dropboxes.source = 'recurring' THEN excluded.distinct_sources ELSE dropboxes.distinct_sources END`,
  seenMany: `UPDATE dropboxes SET last_seen = MAX(last_seen,
      (SELECT MAX(json_extract(value, '$.t')) FROM json_each(@batch) WHERE json_extract(value, '$.a') = dropboxes.address))
    WHERE address IN (SELECT json_extract(value, '$.a') FROM json_each(@batch))`,
} as const;

function rowToDropbox(r: Record<string, unknown>): DropboxRow {
  return {
    address: r.address as string,
    firstSeen: r.first_seen as number,
    lastSeen: r.last_seen as number,
    tests: r.tests as number,
    distinctSources: r.distinct_sources as number,
    tester: (r.tester as string | null) ?? null,
    source: r.source as DropboxRow["source"],
  };
}


/** The statements that delete addresses (and where they were seen from) last seen before a time. */
export function expireAddresses(before: number): Stmt[] {
  return [
    { sql: "DELETE FROM address_sources WHERE last_seen < ?", params: [before] },
    { sql: "DELETE FROM dropboxes WHERE last_seen < ?", params: [before] },
    { sql: "DELETE FROM recipients WHERE last_seen < ?", params: [before] },
  ];
}

export function createSqliteDropboxStore(writer: StoreWriter, reader: StoreReader): DropboxStore {
  return {
    async recordSighting(s: Sighting, rule: RecurringRule) {
      const st: Stmt[] = [];
      const t = s.at;
      for (const a of new Set(s.dropboxes.map((d) => d.toLowerCase()))) {
        st.push({ sql: SQL.source, params: [{ role: "d", a, ip: s.srcIp, t }] });
        st.push({ sql: SQL.dropbox, params: [{ a, t, tester: s.tester }] });
      }
      for (const a of new Set(s.recipients.slice(0, MAX_SIGHTING_RECIPIENTS).map((r) => r.toLowerCase()))) {
        st.push({ sql: SQL.source, params: [{ role: "r", a, ip: s.srcIp, t }] });
        st.push({ sql: SQL.recipient, params: [{ a, n: 1, first: t, t }] });
        st.push({ sql: SQL.recurring, params: [{ a, minMessages: rule.minMessages, minSources: rule.minSources }] });
        st.push({ sql: SQL.seen, params: [{ a, t }] });
      }
      if (st.length) await writer.exec(st);
    },

    async recordRecipients(batch: RecipientSighting[], rule: RecurringRule) {
      if (batch.length === 0) return;
      const json = JSON.stringify(batch.map((r) => ({ a: r.address, ip: r.srcIp, n: r.messages, first: r.first, t: r.last })));
      await writer.exec([
        { sql: SQL.sourcesMany, params: [{ batch: json }] },
        { sql: SQL.recipientsMany, params: [{ batch: json }] },
        { sql: SQL.recurringMany, params: [{ batch: json, minMessages: rule.minMessages, minSources: rule.minSources }] },
        { sql: SQL.seenMany, params: [{ batch: json }] },
      ]);
    },

    knownDropboxes(addresses) {
      if (addresses.length === 0) return new Set();
      const rows = reader.all<{ address: string }>(
        "SELECT address FROM dropboxes WHERE source = 'relay-test' AND address IN (SELECT value FROM json_each(?))",
        JSON.stringify(addresses.map((a) => a.toLowerCase())),
      );
      return new Set(rows.map((r) => r.address));
    },

    listDropboxes(limit = 100) {
      return reader.all<Record<string, unknown>>("SELECT * FROM dropboxes ORDER BY last_seen DESC LIMIT ?", limit).map(rowToDropbox);
    },

    topRecipients(limit = 100) {
      return reader
        .all<Record<string, unknown>>("SELECT * FROM recipients ORDER BY messages DESC, recipient LIMIT ?", limit)
        .map((r) => ({
          recipient: r.recipient as string,
          messages: r.messages as number,
          distinctSources: r.distinct_sources as number,
          firstSeen: r.first_seen as number,
          lastSeen: r.last_seen as number,
        })) satisfies RecipientRow[];
    },
  };
}
