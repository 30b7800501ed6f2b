-- Dropboxes (addresses that receive relay tests), recipient frequency (the "central database of spammed addresses"),
-- the durable delivery outbox, its audit trail and the persisted kill switch.

CREATE TABLE dropboxes (
  address TEXT PRIMARY KEY,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  tests INTEGER NOT NULL DEFAULT 0,
  distinct_sources INTEGER NOT NULL DEFAULT 0,
  tester TEXT,
  -- 'relay-test': named by a relay test; 'recurring': a recipient that keeps reappearing across spam runs.
  source TEXT NOT NULL CHECK (source IN ('relay-test', 'recurring'))
);
CREATE INDEX dropboxes_last_seen ON dropboxes(last_seen);

CREATE TABLE recipients (
  recipient TEXT PRIMARY KEY,
  messages INTEGER NOT NULL DEFAULT 0,
  distinct_sources INTEGER NOT NULL DEFAULT 0,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE INDEX recipients_last_seen ON recipients(last_seen);
CREATE INDEX recipients_messages ON recipients(messages);

-- The source IPs seen per address, to count distinct sources. role: 'd' dropbox (relay tests), 'r' recipient (spam).
CREATE TABLE address_sources (
  role TEXT NOT NULL,
  address TEXT NOT NULL,
  src_ip TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (role, address, src_ip)
) WITHOUT ROWID;
CREATE INDEX address_sources_last_seen ON address_sources(last_seen);

-- One row per (message, recipient): the unique key makes enqueueing idempotent across restarts.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL,
  recipient TEXT NOT NULL,
  mode TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped', 'dry-run')),
  src_ip TEXT NOT NULL,
  session_id TEXT NOT NULL,
  mail_from TEXT NOT NULL,
  received TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_error TEXT,
  route TEXT,
  response TEXT,
  UNIQUE (message_id, recipient)
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
CREATE INDEX outbox_created ON outbox(created_at);
CREATE INDEX outbox_recipient ON outbox(recipient, created_at);
CREATE INDEX outbox_src ON outbox(src_ip, created_at);

CREATE TABLE delivery_audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  recipient TEXT,
  decision TEXT NOT NULL,
  reason TEXT
);
CREATE INDEX delivery_audit_message ON delivery_audit(message_id);
CREATE INDEX delivery_audit_at ON delivery_audit(at);

-- Key-value state; 'switch' = 'on' | 'off' is the kill switch (no row: on, i.e. config decides).
CREATE TABLE delivery_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
