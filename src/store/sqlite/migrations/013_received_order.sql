-- The web lists are ordered by received time, then id (issue 17 item 2), and may be sorted by size or source: the
-- existing (received_at), (kind, received_at) and (src_ip, received_at) indexes end in the rowid and so serve
-- "ORDER BY received_at, id" and its keyset cursor; these two serve the channel filter and the size sort the same way.
CREATE INDEX IF NOT EXISTS messages_channel_received ON messages(channel, received_at);
CREATE INDEX IF NOT EXISTS messages_size ON messages(size);
