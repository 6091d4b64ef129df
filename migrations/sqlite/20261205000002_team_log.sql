-- The team log (issue 17): full-text search over updates and their listing by date. Keep in
-- step with ../postgres/ (there a generated tsvector column with a GIN index).
--
-- An external-content FTS5 index of updates.body (unicode61: case and diacritics folded, no
-- stemming, like PostgreSQL's 'simple' configuration), kept in step by triggers. It is derived
-- data: `db copy` fills it by inserting the updates.
CREATE VIRTUAL TABLE updates_fts USING fts5(
    body, content = 'updates', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO updates_fts (rowid, body) SELECT id, body FROM updates;
CREATE TRIGGER updates_fts_insert AFTER INSERT ON updates BEGIN
    INSERT INTO updates_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER updates_fts_delete AFTER DELETE ON updates BEGIN
    INSERT INTO updates_fts (updates_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER updates_fts_update AFTER UPDATE OF body ON updates BEGIN
    INSERT INTO updates_fts (updates_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO updates_fts (rowid, body) VALUES (new.id, new.body);
END;
-- The log lists a team's updates newest first, a page at a time (keyset on date and id).
CREATE INDEX updates_date ON updates (local_date, id);
