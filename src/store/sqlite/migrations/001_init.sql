-- Sessions (one row per SMTP session, written when it ends), messages (summary row), raw bodies apart.
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  protocol TEXT NOT NULL,
  channel TEXT NOT NULL DEFAULT 'direct',
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  src_ip TEXT NOT NULL,
  src_port INTEGER NOT NULL,
  dest_ip TEXT NOT NULL,
  dest_port INTEGER NOT NULL,
  target TEXT,
  helo TEXT,
  rdns TEXT,
  tls TEXT,
  auth TEXT,
  transcript TEXT NOT NULL DEFAULT '[]',
  transcript_truncated INTEGER NOT NULL DEFAULT 0,
  commands INTEGER NOT NULL DEFAULT 0,
  messages INTEGER NOT NULL DEFAULT 0,
  close_reason TEXT
);
CREATE INDEX sessions_started ON sessions(started_at);
CREATE INDEX sessions_src ON sessions(src_ip, started_at);

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  queue_id TEXT NOT NULL,
  session_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  src_ip TEXT NOT NULL,
  src_port INTEGER NOT NULL,
  dest_ip TEXT NOT NULL,
  dest_port INTEGER NOT NULL,
  channel TEXT NOT NULL DEFAULT 'direct',
  helo TEXT,
  mail_from TEXT,
  rcpt_to TEXT NOT NULL,
  rcpt_count INTEGER NOT NULL,
  subject TEXT,
  from_hdr TEXT,
  to_hdr TEXT,
  date_hdr TEXT,
  date_iso TEXT,
  message_id_hdr TEXT,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  body_stored INTEGER NOT NULL,
  drop_reason TEXT,
  kind TEXT NOT NULL DEFAULT 'unknown',
  verdict TEXT,
  parse_error TEXT,
  attachments TEXT,
  headers TEXT,
  text_body TEXT
);
CREATE INDEX messages_received ON messages(received_at);
CREATE INDEX messages_src ON messages(src_ip, received_at);
CREATE INDEX messages_kind ON messages(kind, received_at);
CREATE INDEX messages_sha ON messages(sha256);
CREATE INDEX messages_session ON messages(session_id);

CREATE TABLE message_raw (
  message_id INTEGER PRIMARY KEY,
  data BLOB NOT NULL
);
