-- Collector push (sensor side): events waiting for the fleet collector, and push state (the message cursor, the last
-- shared dropbox list pulled). AUTOINCREMENT so an event id is never reused: (sensor, id) stays unique at the collector.
CREATE TABLE collector_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event TEXT NOT NULL
);

CREATE TABLE collector_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
