-- Serves GET /api/notifications: one page of the user's own notifications, newest first.
-- Relies on idx_notif_user_created (user_id, created_at DESC, id DESC): equality on the
-- user, then index order is page order: no sort, stops after $4 rows.
-- $1 user id, $2/$3 cursor (created_at, id), $4 rows to fetch
SELECT id, kind, title, body, signal_id, is_read, created_at
FROM notifications
WHERE user_id = $1
  AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC
LIMIT $4
