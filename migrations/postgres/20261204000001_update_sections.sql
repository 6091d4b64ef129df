-- An update is kept as the questions it answers: `sections` holds them as JSON
-- ([{"kind": "done"|"next"|"blockers"|"other", "label": "Done" | null, "text": "..."}]),
-- read from each reply or post when it is stored, with the member's team questions. `body`
-- stays the raw text as written. NULL (updates stored before this migration) is read from
-- `body` with the default labels when the update is read.
ALTER TABLE updates ADD COLUMN sections TEXT;
