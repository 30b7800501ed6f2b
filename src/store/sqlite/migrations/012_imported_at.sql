-- When `relaytrap import` stored a message (NULL for mail the sensor took itself). Imported history keeps its original
-- received_at for the graphs, so pruning by age (storage.maxAgeDays) goes by this time instead unless the operator
-- says otherwise (storage.pruneImported): a 2013 archive imported today is not deleted by the next start.
-- Rows imported before this migration get the upgrade time: they had not been pruned yet, so they were kept so far.
ALTER TABLE messages ADD COLUMN imported_at INTEGER;
UPDATE messages SET imported_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 WHERE channel = 'import';
CREATE INDEX messages_imported ON messages(imported_at) WHERE imported_at IS NOT NULL;
