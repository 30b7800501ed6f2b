-- What the store holds now, kept by triggers in the transaction of every insert, delete and update, so the dashboard
-- (/api/v1/summary) and the dropbox views read a few rows instead of every message: at 1M messages the all-time totals
-- were a 1.2-2 s scan and the dropbox list a json_each over every relay-test verdict (bench/RESULTS.md, "Web API").
-- Unlike attempt_days (007, history), these follow deletes (pruning): the counts always equal a COUNT over the tables
-- (src/store/sqlite/totals.test.ts checks it). Only first_seen/last_seen of a dropbox are history (not lowered by a
-- delete: recomputing a MIN over the remaining messages on every pruned row would make pruning quadratic).
--
-- INSERT OR REPLACE INTO sessions (the writer's) removes the old row without firing delete triggers
-- (recursive_triggers is off), so store_totals_session_replace takes the old row out first. That trigger also runs
-- for an INSERT OR IGNORE that ends up ignored, so sessions must not be written that way.

CREATE TABLE store_totals (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sessions INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  relay_tests INTEGER NOT NULL,
  spam INTEGER NOT NULL,
  other INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  -- distinct src_ip over sessions and messages = rows of source_rows
  sources INTEGER NOT NULL
);

-- Rows (sessions + messages) per source address; an address has a row while it has any.
CREATE TABLE source_rows (
  ip TEXT PRIMARY KEY,
  n INTEGER NOT NULL
) WITHOUT ROWID;

-- The dropboxes each message's verdict names (lower-cased, any kind): the index behind /api/v1/messages?dropbox=.
CREATE TABLE message_dropboxes (
  address TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (address, message_id)
) WITHOUT ROWID;

-- Per dropbox, what the stored relay-test verdicts say: tests = verdict entries naming it (as derivedDropboxes
-- counted them), per source address in verdict_dropbox_sources (its rows = distinct sources).
CREATE TABLE verdict_dropboxes (
  address TEXT PRIMARY KEY,
  tests INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX verdict_dropboxes_tests ON verdict_dropboxes(tests DESC, address);

CREATE TABLE verdict_dropbox_sources (
  address TEXT NOT NULL,
  src_ip TEXT NOT NULL,
  tests INTEGER NOT NULL,
  PRIMARY KEY (address, src_ip)
) WITHOUT ROWID;

-- Backfill from the rows already stored.
INSERT INTO source_rows (ip, n)
SELECT ip, SUM(n) FROM (
  SELECT src_ip AS ip, COUNT(*) AS n FROM sessions GROUP BY src_ip
  UNION ALL
  SELECT src_ip, COUNT(*) FROM messages GROUP BY src_ip
) GROUP BY ip;

INSERT INTO store_totals (id, sessions, messages, relay_tests, spam, other, bytes, sources)
SELECT 1, (SELECT COUNT(*) FROM sessions), COUNT(*), COALESCE(SUM(kind = 'relay-test'), 0), COALESCE(SUM(kind = 'spam'), 0),
  COALESCE(SUM(kind = 'other'), 0), COALESCE(SUM(size), 0), (SELECT COUNT(*) FROM source_rows)
FROM messages;

INSERT OR IGNORE INTO message_dropboxes (address, message_id)
SELECT lower(d.value), m.id FROM messages m, json_each(CASE WHEN json_valid(m.verdict) THEN m.verdict END, '$.dropboxes') d
WHERE m.verdict IS NOT NULL;

INSERT INTO verdict_dropboxes (address, tests, first_seen, last_seen)
SELECT lower(d.value), COUNT(*), MIN(m.received_at), MAX(m.received_at)
FROM messages m, json_each(CASE WHEN json_valid(m.verdict) THEN m.verdict END, '$.dropboxes') d
WHERE m.kind = 'relay-test' AND m.verdict IS NOT NULL GROUP BY 1;

INSERT INTO verdict_dropbox_sources (address, src_ip, tests)
SELECT lower(d.value), m.src_ip, COUNT(*)
FROM messages m, json_each(CASE WHEN json_valid(m.verdict) THEN m.verdict END, '$.dropboxes') d
WHERE m.kind = 'relay-test' AND m.verdict IS NOT NULL GROUP BY 1, 2;

-- Messages. A malformed verdict counts as naming no dropbox (json_each of NULL is empty) rather than failing the insert.
-- The update trigger takes the old row out and puts the new one in, in the same statements as delete and insert.

CREATE TRIGGER store_totals_message_insert AFTER INSERT ON messages BEGIN
  UPDATE store_totals SET messages = messages + 1, relay_tests = relay_tests + (new.kind = 'relay-test'),
    spam = spam + (new.kind = 'spam'), other = other + (new.kind = 'other'), bytes = bytes + new.size,
    sources = sources + NOT EXISTS (SELECT 1 FROM source_rows WHERE ip = new.src_ip);
  INSERT INTO source_rows (ip, n) VALUES (new.src_ip, 1) ON CONFLICT (ip) DO UPDATE SET n = n + 1;
  INSERT OR IGNORE INTO message_dropboxes (address, message_id)
    SELECT lower(value), new.id FROM json_each(CASE WHEN json_valid(new.verdict) THEN new.verdict END, '$.dropboxes');
  INSERT INTO verdict_dropboxes (address, tests, first_seen, last_seen)
    SELECT lower(value), 1, new.received_at, new.received_at
    FROM json_each(CASE WHEN json_valid(new.verdict) THEN new.verdict END, '$.dropboxes') WHERE new.kind = 'relay-test'
    ON CONFLICT (address) DO UPDATE SET tests = tests + 1, first_seen = MIN(first_seen, excluded.first_seen),
      last_seen = MAX(last_seen, excluded.last_seen);
  INSERT INTO verdict_dropbox_sources (address, src_ip, tests)
    SELECT lower(value), new.src_ip, 1
    FROM json_each(CASE WHEN json_valid(new.verdict) THEN new.verdict END, '$.dropboxes') WHERE new.kind = 'relay-test'
    ON CONFLICT (address, src_ip) DO UPDATE SET tests = tests + 1;
END;

CREATE TRIGGER store_totals_message_delete AFTER DELETE ON messages BEGIN
  UPDATE store_totals SET messages = messages - 1, relay_tests = relay_tests - (old.kind = 'relay-test'),
    spam = spam - (old.kind = 'spam'), other = other - (old.kind = 'other'), bytes = bytes - old.size;
  UPDATE source_rows SET n = n - 1 WHERE ip = old.src_ip;
  UPDATE store_totals SET sources = sources - (SELECT COUNT(*) FROM source_rows WHERE ip = old.src_ip AND n <= 0);
  DELETE FROM source_rows WHERE ip = old.src_ip AND n <= 0;
  DELETE FROM message_dropboxes WHERE message_id = old.id
    AND address IN (SELECT lower(value) FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes'));
  UPDATE verdict_dropboxes SET tests = tests - d.n
    FROM (SELECT lower(value) AS a, COUNT(*) AS n FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes') GROUP BY 1) d
    WHERE old.kind = 'relay-test' AND verdict_dropboxes.address = d.a;
  DELETE FROM verdict_dropboxes WHERE tests <= 0
    AND address IN (SELECT lower(value) FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes'));
  UPDATE verdict_dropbox_sources SET tests = tests - d.n
    FROM (SELECT lower(value) AS a, COUNT(*) AS n FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes') GROUP BY 1) d
    WHERE old.kind = 'relay-test' AND verdict_dropbox_sources.address = d.a AND verdict_dropbox_sources.src_ip = old.src_ip;
  DELETE FROM verdict_dropbox_sources WHERE src_ip = old.src_ip AND tests <= 0
    AND address IN (SELECT lower(value) FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes'));
END;

-- Reclassification (reanalyze: kind and verdict), or any other change of what the totals are made of.
CREATE TRIGGER store_totals_message_update AFTER UPDATE OF kind, size, src_ip, verdict ON messages
WHEN old.kind IS NOT new.kind OR old.size IS NOT new.size OR old.src_ip IS NOT new.src_ip OR old.verdict IS NOT new.verdict BEGIN
  -- out with the old row (as store_totals_message_delete)
  UPDATE store_totals SET messages = messages - 1, relay_tests = relay_tests - (old.kind = 'relay-test'),
    spam = spam - (old.kind = 'spam'), other = other - (old.kind = 'other'), bytes = bytes - old.size;
  UPDATE source_rows SET n = n - 1 WHERE ip = old.src_ip;
  UPDATE store_totals SET sources = sources - (SELECT COUNT(*) FROM source_rows WHERE ip = old.src_ip AND n <= 0);
  DELETE FROM source_rows WHERE ip = old.src_ip AND n <= 0;
  DELETE FROM message_dropboxes WHERE message_id = old.id
    AND address IN (SELECT lower(value) FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes'));
  UPDATE verdict_dropboxes SET tests = tests - d.n
    FROM (SELECT lower(value) AS a, COUNT(*) AS n FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes') GROUP BY 1) d
    WHERE old.kind = 'relay-test' AND verdict_dropboxes.address = d.a;
  DELETE FROM verdict_dropboxes WHERE tests <= 0
    AND address IN (SELECT lower(value) FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes'));
  UPDATE verdict_dropbox_sources SET tests = tests - d.n
    FROM (SELECT lower(value) AS a, COUNT(*) AS n FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes') GROUP BY 1) d
    WHERE old.kind = 'relay-test' AND verdict_dropbox_sources.address = d.a AND verdict_dropbox_sources.src_ip = old.src_ip;
  DELETE FROM verdict_dropbox_sources WHERE src_ip = old.src_ip AND tests <= 0
    AND address IN (SELECT lower(value) FROM json_each(CASE WHEN json_valid(old.verdict) THEN old.verdict END, '$.dropboxes'));
  -- in with the new row (as store_totals_message_insert)
  UPDATE store_totals SET messages = messages + 1, relay_tests = relay_tests + (new.kind = 'relay-test'),
    spam = spam + (new.kind = 'spam'), other = other + (new.kind = 'other'), bytes = bytes + new.size,
    sources = sources + NOT EXISTS (SELECT 1 FROM source_rows WHERE ip = new.src_ip);
  INSERT INTO source_rows (ip, n) VALUES (new.src_ip, 1) ON CONFLICT (ip) DO UPDATE SET n = n + 1;
  INSERT OR IGNORE INTO message_dropboxes (address, message_id)
    SELECT lower(value), new.id FROM json_each(CASE WHEN json_valid(new.verdict) THEN new.verdict END, '$.dropboxes');
  INSERT INTO verdict_dropboxes (address, tests, first_seen, last_seen)
    SELECT lower(value), 1, new.received_at, new.received_at
    FROM json_each(CASE WHEN json_valid(new.verdict) THEN new.verdict END, '$.dropboxes') WHERE new.kind = 'relay-test'
    ON CONFLICT (address) DO UPDATE SET tests = tests + 1, first_seen = MIN(first_seen, excluded.first_seen),
      last_seen = MAX(last_seen, excluded.last_seen);
  INSERT INTO verdict_dropbox_sources (address, src_ip, tests)
    SELECT lower(value), new.src_ip, 1
    FROM json_each(CASE WHEN json_valid(new.verdict) THEN new.verdict END, '$.dropboxes') WHERE new.kind = 'relay-test'
    ON CONFLICT (address, src_ip) DO UPDATE SET tests = tests + 1;
END;

-- Sessions.

CREATE TRIGGER store_totals_session_replace BEFORE INSERT ON sessions WHEN EXISTS (SELECT 1 FROM sessions WHERE id = new.id) BEGIN
  UPDATE store_totals SET sessions = sessions - 1;
  UPDATE source_rows SET n = n - 1 WHERE ip = (SELECT src_ip FROM sessions WHERE id = new.id);
  UPDATE store_totals SET sources = sources - (SELECT COUNT(*) FROM source_rows WHERE ip = (SELECT src_ip FROM sessions WHERE id = new.id) AND n <= 0);
  DELETE FROM source_rows WHERE ip = (SELECT src_ip FROM sessions WHERE id = new.id) AND n <= 0;
END;

CREATE TRIGGER store_totals_session_insert AFTER INSERT ON sessions BEGIN
  UPDATE store_totals SET sessions = sessions + 1, sources = sources + NOT EXISTS (SELECT 1 FROM source_rows WHERE ip = new.src_ip);
  INSERT INTO source_rows (ip, n) VALUES (new.src_ip, 1) ON CONFLICT (ip) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER store_totals_session_delete AFTER DELETE ON sessions BEGIN
  UPDATE store_totals SET sessions = sessions - 1;
  UPDATE source_rows SET n = n - 1 WHERE ip = old.src_ip;
  UPDATE store_totals SET sources = sources - (SELECT COUNT(*) FROM source_rows WHERE ip = old.src_ip AND n <= 0);
  DELETE FROM source_rows WHERE ip = old.src_ip AND n <= 0;
END;

CREATE TRIGGER store_totals_session_update AFTER UPDATE OF src_ip ON sessions WHEN old.src_ip IS NOT new.src_ip BEGIN
  UPDATE source_rows SET n = n - 1 WHERE ip = old.src_ip;
  UPDATE store_totals SET sources = sources - (SELECT COUNT(*) FROM source_rows WHERE ip = old.src_ip AND n <= 0);
  DELETE FROM source_rows WHERE ip = old.src_ip AND n <= 0;
  UPDATE store_totals SET sources = sources + NOT EXISTS (SELECT 1 FROM source_rows WHERE ip = new.src_ip);
  INSERT INTO source_rows (ip, n) VALUES (new.src_ip, 1) ON CONFLICT (ip) DO UPDATE SET n = n + 1;
END;
