-- Serves POST /api/notifications/{id}/read: marks one item of the user's feed read.
-- The id names either one of the user's own rows (flag set; primary key) or a signal item
-- of the user's current tier's channel published after their sign-up (a mark inserted;
-- primary keys of signal_notifications and signal_notification_reads). Idempotent: an
-- item already read is found and left as it is. No row means it is not in this user's
-- feed (another user's, a signal their tier cannot see, or no such item).
-- $1 notification id, $2 user id, $3 user's current tier, $4 user's sign-up time
WITH own AS (
    SELECT id, is_read FROM notifications WHERE id = $1 AND user_id = $2
), own_marked AS (
    UPDATE notifications n SET is_read = true
    FROM own
    WHERE n.id = own.id AND NOT own.is_read
), channel AS (
    SELECT id FROM signal_notifications
    WHERE audience = $3::tier AND id = $1 AND created_at > $4
), channel_marked AS (
    INSERT INTO signal_notification_reads (user_id, notification_id)
    SELECT $2, id FROM channel
    ON CONFLICT DO NOTHING
)
SELECT id FROM own
UNION ALL
SELECT id FROM channel
