-- Serves GET /api/notifications: one page of the user's feed, newest first: their own
-- billing/system rows merged with the signal items of their current tier's channel
-- published after their sign-up. Each branch reads one index range in page order and
-- stops after $6 rows (idx_notif_user_created for own rows,
-- idx_signal_notif_audience_created for the channel); only those 2 x $6 rows are merged.
-- An item is read when its own flag is set, when it is at or before the user's read-all
-- watermark (notification_read_state), or, for a signal item, when the user marked it
-- (signal_notification_reads, primary key).
-- $1 user id, $2 user's current tier, $3 user's sign-up time, $4/$5 cursor
-- (created_at, id), $6 rows to fetch
SELECT id, kind, title, body, signal_id, is_read, created_at
FROM (
    (SELECT n.id, n.kind, n.title, n.body, n.signal_id, n.created_at,
            n.is_read OR n.created_at <= coalesce((SELECT read_through
                                                   FROM notification_read_state
                                                   WHERE user_id = $1), '-infinity') AS is_read
     FROM notifications n
     WHERE n.user_id = $1
       AND (n.created_at, n.id) < ($4, $5)
     ORDER BY n.created_at DESC, n.id DESC
     LIMIT $6)
    UNION ALL
    (SELECT s.id, 'signal', s.title, s.body, s.signal_id, s.created_at,
            s.created_at <= coalesce((SELECT read_through FROM notification_read_state
                                      WHERE user_id = $1), '-infinity')
            OR EXISTS (SELECT FROM signal_notification_reads r
                       WHERE r.user_id = $1 AND r.notification_id = s.id)
     FROM signal_notifications s
     WHERE s.audience = $2::tier
       AND s.created_at > $3
       AND (s.created_at, s.id) < ($4, $5)
     ORDER BY s.created_at DESC, s.id DESC
     LIMIT $6)
) AS feed
ORDER BY created_at DESC, id DESC
LIMIT $6
