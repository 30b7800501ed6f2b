-- The collector's fleet store: sensors, message summaries and events pushed by them (idempotent by (sensor, id)), and
-- the addresses of each message (relay-test dropboxes, spam recipients) from which the shared dropbox list is pooled.
-- Times are milliseconds since the epoch (bigint), as in the sensor's SQLite store and its API.

CREATE TABLE sensors (
  name text PRIMARY KEY,
  first_seen bigint NOT NULL,
  last_seen bigint NOT NULL,
  version text,
  last_ip text,
  pushes bigint NOT NULL DEFAULT 0,
  messages bigint NOT NULL DEFAULT 0,
  events bigint NOT NULL DEFAULT 0
);

-- seq: a fleet-wide id for cursors; (sensor, id) is the sensor's own message id and the idempotency key.
CREATE TABLE messages (
  seq bigserial UNIQUE,
  sensor text NOT NULL REFERENCES sensors(name),
  id bigint NOT NULL,
  queue_id text NOT NULL,
  session_id text NOT NULL,
  received_at bigint NOT NULL,
  src_ip text NOT NULL,
  src_port integer NOT NULL,
  dest_ip text NOT NULL,
  dest_port integer NOT NULL,
  channel text NOT NULL,
  helo text,
  mail_from text,
  rcpt_to jsonb NOT NULL,
  rcpt_count integer NOT NULL,
  subject text,
  size integer NOT NULL,
  sha256 text NOT NULL,
  kind text NOT NULL,
  verdict jsonb,
  body_stored boolean NOT NULL,
  raw bytea,
  ingested_at bigint NOT NULL,
  PRIMARY KEY (sensor, id)
);
CREATE INDEX messages_received ON messages (received_at);
CREATE INDEX messages_src ON messages (src_ip, received_at);
CREATE INDEX messages_kind ON messages (kind, received_at);
CREATE INDEX messages_sensor_seq ON messages (sensor, seq);

-- role 'd': a dropbox named by a relay-test verdict; 'r': a recipient of a spam message.
CREATE TABLE message_addresses (
  sensor text NOT NULL,
  message_id bigint NOT NULL,
  role char(1) NOT NULL CHECK (role IN ('d', 'r')),
  address text NOT NULL,
  src_ip text NOT NULL,
  received_at bigint NOT NULL,
  tester text,
  PRIMARY KEY (sensor, message_id, role, address),
  FOREIGN KEY (sensor, message_id) REFERENCES messages (sensor, id) ON DELETE CASCADE
);
CREATE INDEX message_addresses_address ON message_addresses (role, address, received_at);
CREATE INDEX message_addresses_received ON message_addresses (received_at);

CREATE TABLE events (
  sensor text NOT NULL REFERENCES sensors(name),
  id bigint NOT NULL,
  eventid text NOT NULL,
  at bigint NOT NULL,
  session text,
  protocol text,
  src_ip text,
  data jsonb NOT NULL,
  PRIMARY KEY (sensor, id)
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_eventid ON events (eventid, at);
