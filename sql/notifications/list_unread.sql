-- Serves GET /api/notifications?unread=true: one page of the user's unread feed items,
-- newest first: own rows not flagged read, and signal items of the user's current tier's
-- channel not marked read, both after the user's read-all watermark (and signal items
-- after their sign-up). Own rows come from idx_notif_user_read_created (only rows not
-- flagged read are in it, in page order), signal items from
-- idx_signal_notif_audience_created from the watermark on; each branch stops after $6
-- rows, and only those 2 x $6 rows are merged.
-- $1 user id, $2 user's current tier, $3 user's sign-up time, $4/$5 cursor
-- (created_at, id), $6 rows to fetch
SELECT id, kind, title, body, signal_id, false AS is_read, created_at
FROM (
    (SELECT n.id, n.kind, n.title, n.body, n.signal_id, n.created_at
     FROM notifications n
     WHERE n.user_id = $1
       AND NOT n.is_read
       AND n.created_at > coalesce((SELECT read_through FROM notification_read_state
                                    WHERE user_id = $1), '-infinity')
       AND (n.created_at, n.id) < ($4, $5)
     ORDER BY n.created_at DESC, n.id DESC
     LIMIT $6)
    UNION ALL
    (SELECT s.id, 'signal', s.title, s.body, s.signal_id, s.created_at
     FROM signal_notifications s
     WHERE s.audience = $2::tier
       AND s.created_at > greatest($3, (SELECT read_through FROM notification_read_state
                                        WHERE user_id = $1))
       AND (s.created_at, s.id) < ($4, $5)
       AND NOT EXISTS (SELECT FROM signal_notification_reads r
                       WHERE r.user_id = $1 AND r.notification_id = s.id)
     ORDER BY s.created_at DESC, s.id DESC
     LIMIT $6)
) AS feed
ORDER BY created_at DESC, id DESC
LIMIT $6
