-- Relay-test confidence (issue 15): 'certain', 'likely', 'possible' or NULL (no relay-test evidence, or stored before
-- this migration). Only 'certain' acts: delivery, dropbox learning, abuse reports, feeds and the fleet. Rows stored
-- before it keep NULL and so act on nothing until `relaytrap reanalyze` gives them a confidence. A column (not only the
-- verdict JSON) so feeds and filters can select on it.
ALTER TABLE messages ADD COLUMN confidence TEXT;
CREATE INDEX IF NOT EXISTS messages_confidence ON messages (confidence, received_at) WHERE confidence IS NOT NULL;
