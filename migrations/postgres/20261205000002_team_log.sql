-- The team log (issue 17): full-text search over updates and their listing by date. Keep in
-- step with ../sqlite/ (there an FTS5 index kept by triggers).
--
-- 'simple': case folded, no stemming and no stop words, the same for every language a team
-- writes in (and what SQLite's unicode61 tokenizer does). Generated, so never written or copied.
ALTER TABLE updates ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED;
CREATE INDEX updates_search ON updates USING GIN (search);
-- The log lists a team's updates newest first, a page at a time (keyset on date and id).
CREATE INDEX updates_date ON updates (local_date, id);
