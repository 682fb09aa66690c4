-- Serves POST /api/notifications/{id}/read: marks one of the user's notifications read.
-- Idempotent: an already read notification is found and left as it is. No row means it
-- is not this user's (or does not exist). Relies on the primary key.
-- $1 notification id, $2 user id
WITH target AS (
    SELECT id, is_read FROM notifications WHERE id = $1 AND user_id = $2
), marked AS (
    UPDATE notifications n SET is_read = true
    FROM target
    WHERE n.id = target.id AND NOT target.is_read
)
SELECT id FROM target
