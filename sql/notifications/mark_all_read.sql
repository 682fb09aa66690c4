-- Serves POST /api/notifications/read-all: moves the user's read-all watermark to now, so
-- everything created until now reads as read, own rows and signal items alike: one row
-- written (primary key upsert) whatever the number of notifications. The watermark
-- never moves back.
-- $1 user id
INSERT INTO notification_read_state (user_id, read_through)
VALUES ($1, now())
ON CONFLICT (user_id) DO UPDATE
SET read_through = greatest(notification_read_state.read_through, excluded.read_through)
