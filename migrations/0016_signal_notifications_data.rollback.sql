-- Back to one notification row per user and signal: every item a user's feed derives
-- becomes a row of theirs, read when the watermark or a mark said so; the watermark is
-- folded into `is_read` of their own rows. Read marks on items the user's current tier
-- cannot see have no row to go to and are dropped with the tables (0014's rollback).

UPDATE notifications n
SET is_read = true
FROM notification_read_state rs
WHERE rs.user_id = n.user_id
  AND n.created_at <= rs.read_through
  AND NOT n.is_read;

INSERT INTO notifications (user_id, kind, title, body, signal_id, is_read, created_at)
SELECT u.id, 'signal', sn.title, sn.body, sn.signal_id,
       sn.created_at <= coalesce(rs.read_through, '-infinity') OR r.user_id IS NOT NULL,
       sn.created_at
FROM users u
JOIN signal_notifications sn ON sn.audience = u.tier AND sn.created_at > u.created_at
LEFT JOIN notification_read_state rs ON rs.user_id = u.id
LEFT JOIN signal_notification_reads r ON r.user_id = u.id AND r.notification_id = sn.id
ORDER BY u.id;

DELETE FROM signal_notification_reads;
DELETE FROM notification_read_state;
DELETE FROM signal_notifications;
