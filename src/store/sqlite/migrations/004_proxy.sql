-- Proxy trap: one row per proxy connection (written when it ends) and one per request it made (CONNECT, GET, ...).
CREATE TABLE proxy_sessions (
  id TEXT PRIMARY KEY,
  protocol TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  src_ip TEXT NOT NULL,
  src_port INTEGER NOT NULL,
  dest_ip TEXT NOT NULL,
  dest_port INTEGER NOT NULL,
  username TEXT,
  password TEXT,
  target TEXT,
  requests INTEGER NOT NULL DEFAULT 0,
  diverted_to_smtp INTEGER NOT NULL DEFAULT 0,
  bytes_in INTEGER NOT NULL DEFAULT 0,
  close_reason TEXT
);
CREATE INDEX proxy_sessions_started ON proxy_sessions(started_at);
CREATE INDEX proxy_sessions_src ON proxy_sessions(src_ip, started_at);

CREATE TABLE proxy_requests (
  id INTEGER PRIMARY KEY,
  session_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  src_ip TEXT NOT NULL,
  protocol TEXT NOT NULL,
  method TEXT NOT NULL,
  target TEXT NOT NULL,
  host TEXT,
  port INTEGER,
  headers TEXT NOT NULL DEFAULT '[]',
  outcome TEXT NOT NULL,
  status INTEGER,
  body_bytes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX proxy_requests_at ON proxy_requests(at);
CREATE INDEX proxy_requests_session ON proxy_requests(session_id);
CREATE INDEX proxy_requests_outcome ON proxy_requests(outcome, at);
