-- Trust in the pooled dropbox list (issues 14.9, 15.5): one sensor's pushes count once. A dropbox is known to the
-- fleet when enough distinct sensors (collector.dropboxMinSensors) saw certain relay tests to it, or an operator
-- confirmed it; a revoked sensor's sightings stop counting and its pushes are refused.

-- The confidence a sensor's analyzer gave the relay test naming this address (verdict.confidence on the wire:
-- certain, likely, possible); NULL when the sensor did not say (older sensors), counted like certain.
ALTER TABLE message_addresses ADD COLUMN confidence text CHECK (confidence IN ('certain', 'likely', 'possible'));

-- Set by `relaytrap collector-token revoke NAME`.
ALTER TABLE sensors ADD COLUMN revoked_at bigint;

-- Set by `relaytrap collector-dropbox confirm ADDRESS` (lower-cased).
CREATE TABLE dropbox_confirmations (
  address text PRIMARY KEY,
  confirmed_at bigint NOT NULL,
  note text
);
