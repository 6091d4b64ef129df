-- Scale answers of check-ins (issue 33). Keep in step with the other backend.
--
-- A check-in's 1–5 scale answers are taken out of the update's text when it is stored and
-- kept here, one per update and question (its index in the check-in's questions): a digest
-- and the team log show only the team's aggregate, and only from three answers on.
CREATE TABLE checkin_scores (
    update_id BIGINT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    question  BIGINT NOT NULL,
    value     BIGINT NOT NULL,
    PRIMARY KEY (update_id, question)
);
