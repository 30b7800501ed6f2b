-- Full-text search (FTS5) over subject, envelope addresses and the stored text body, kept in sync by triggers.
CREATE VIRTUAL TABLE messages_fts USING fts5(
  subject, mail_from, rcpt_to, text_body,
  content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts(rowid, subject, mail_from, rcpt_to, text_body)
  VALUES (new.id, new.subject, new.mail_from, new.rcpt_to, new.text_body);
END;

CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, mail_from, rcpt_to, text_body)
  VALUES ('delete', old.id, old.subject, old.mail_from, old.rcpt_to, old.text_body);
END;

CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, mail_from, rcpt_to, text_body ON messages BEGIN
  INSERT INTO messages_fts(messages_fts, rowid, subject, mail_from, rcpt_to, text_body)
  VALUES ('delete', old.id, old.subject, old.mail_from, old.rcpt_to, old.text_body);
  INSERT INTO messages_fts(rowid, subject, mail_from, rcpt_to, text_body)
  VALUES (new.id, new.subject, new.mail_from, new.rcpt_to, new.text_body);
END;

-- Index what is already stored.
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
