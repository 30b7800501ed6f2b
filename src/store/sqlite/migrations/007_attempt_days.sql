-- Relay attempts per UTC day, kept by triggers, so the graphs over months and years read a few hundred rows instead of
-- every message. Counts are history: pruning old messages and sessions (storage.maxAgeDays) does not lower them.
CREATE TABLE attempt_days (
  day TEXT PRIMARY KEY,
  sessions INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0,
  relay_tests INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

INSERT INTO attempt_days (day, sessions, messages, relay_tests)
SELECT day, SUM(s), SUM(m), SUM(t) FROM (
  SELECT date(started_at / 1000, 'unixepoch') AS day, COUNT(*) AS s, 0 AS m, 0 AS t FROM sessions GROUP BY 1
  UNION ALL
  SELECT date(received_at / 1000, 'unixepoch'), 0, COUNT(*), SUM(kind = 'relay-test') FROM messages GROUP BY 1
) GROUP BY day;

CREATE TRIGGER attempt_days_session AFTER INSERT ON sessions BEGIN
  INSERT INTO attempt_days (day, sessions) VALUES (date(new.started_at / 1000, 'unixepoch'), 1)
  ON CONFLICT (day) DO UPDATE SET sessions = sessions + 1;
END;

CREATE TRIGGER attempt_days_message AFTER INSERT ON messages BEGIN
  INSERT INTO attempt_days (day, messages, relay_tests) VALUES (date(new.received_at / 1000, 'unixepoch'), 1, new.kind = 'relay-test')
  ON CONFLICT (day) DO UPDATE SET messages = messages + 1, relay_tests = relay_tests + (new.kind = 'relay-test');
END;

CREATE TRIGGER attempt_days_reclassified AFTER UPDATE OF kind ON messages WHEN (old.kind = 'relay-test') <> (new.kind = 'relay-test') BEGIN
  UPDATE attempt_days SET relay_tests = relay_tests + (new.kind = 'relay-test') - (old.kind = 'relay-test')
  WHERE day = date(new.received_at / 1000, 'unixepoch');
END;
