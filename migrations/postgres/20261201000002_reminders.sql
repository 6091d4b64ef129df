-- Reminders (schedule.reminder_after_hours): the instant a member's reminder is due, set when
-- their update request is queued and cleared when it is handled. Indexed like next_request_at
-- so the planner's due query costs O(reminders due), not O(members).
ALTER TABLE members ADD COLUMN next_reminder_at BIGINT;
ALTER TABLE members ADD COLUMN next_reminder_date TEXT;
CREATE INDEX members_next_reminder ON members (next_reminder_at);
