-- Indexes for the web lists, which page newest first by id (`ORDER BY id DESC LIMIT n`, `before` = id cursor).
-- messages_kind / messages_src are ordered by received_at, so a kind or source filter had to sort every matching row
-- (1M stored messages: kind=spam 1.5 s, one busy source 160 ms at p95); with the id as second column SQLite walks
-- the index backwards and stops after n rows (< 1 ms). See bench/RESULTS.md, "Web API latency".
CREATE INDEX IF NOT EXISTS messages_kind_id ON messages(kind, id);
CREATE INDEX IF NOT EXISTS messages_src_id ON messages(src_ip, id);
