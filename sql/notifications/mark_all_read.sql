-- Serves POST /api/notifications/read-all: marks every unread notification of the user.
-- Relies on idx_notif_user_read_created (partial WHERE NOT is_read): visits only the
-- user's unread rows.
-- $1 user id
UPDATE notifications
SET is_read = true
WHERE user_id = $1
  AND NOT is_read
