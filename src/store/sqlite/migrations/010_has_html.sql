-- Whether a message has an HTML part, recorded when it is parsed (1/0), so the message page need not parse the raw
-- message again to find out: ~170 ms per view of a 10 MB message, on the thread the SMTP sessions run on. Rows stored
-- before this migration keep NULL (unknown): the page parses those as before, and `relaytrap reanalyze` fills them in.
-- No backfill here: it would parse every stored message during the upgrade.
ALTER TABLE messages ADD COLUMN has_html INTEGER;
