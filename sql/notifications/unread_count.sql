-- Serves GET /api/notifications/unread-count and POST /api/notifications/read-all (the
-- number it reports): the user's unread feed items. Own rows: idx_notif_user_read_created
-- (rows not flagged read) after the read-all watermark. Signal items: a count over the
-- range of idx_signal_notif_audience_created for the user's tier channel after the
-- later of sign-up and watermark, minus the user's marks on those items (their primary
-- key, joined to the channel's primary key): a user has few marks.
-- $1 user id, $2 user's current tier, $3 user's sign-up time
WITH since AS (
    SELECT coalesce((SELECT read_through FROM notification_read_state WHERE user_id = $1),
                    '-infinity') AS watermark
)
SELECT (
    (SELECT count(*)
     FROM notifications n
     WHERE n.user_id = $1 AND NOT n.is_read AND n.created_at > since.watermark)
    + (SELECT count(*)
       FROM signal_notifications s
       WHERE s.audience = $2::tier AND s.created_at > greatest($3, since.watermark))
    - (SELECT count(*)
       FROM signal_notification_reads r
       JOIN signal_notifications s ON s.audience = $2::tier AND s.id = r.notification_id
       WHERE r.user_id = $1 AND s.created_at > greatest($3, since.watermark))
)::int AS unread
FROM since
