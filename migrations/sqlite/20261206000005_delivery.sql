-- When comments and mentions reach a member (issue 18): 'digest' (the top of their next
-- digest, the default) or 'immediate' (an email at once). Keep in step with the other backend.
ALTER TABLE members ADD COLUMN comments_delivery TEXT NOT NULL DEFAULT 'digest';
ALTER TABLE members ADD COLUMN mentions_delivery TEXT NOT NULL DEFAULT 'digest';
