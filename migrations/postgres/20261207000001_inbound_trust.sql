-- Replies' own mail (receipts, notices, "was this you?") is limited per address and per
-- member per hour: counted by recipient or member over the last hour.
CREATE INDEX outbox_recipient_created ON outbox (recipient, created_at);
CREATE INDEX outbox_member_created ON outbox (member_id, created_at);
