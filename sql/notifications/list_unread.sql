-- Serves GET /api/notifications?unread=true: one page of the user's unread notifications.
-- Relies on idx_notif_user_read_created (user_id, created_at DESC, id DESC WHERE NOT
-- is_read): only unread rows are in it, in page order.
-- $1 user id, $2/$3 cursor (created_at, id), $4 rows to fetch
SELECT id, kind, title, body, signal_id, is_read, created_at
FROM notifications
WHERE user_id = $1
  AND NOT is_read
  AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC
LIMIT $4
