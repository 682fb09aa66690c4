-- Serves POST /api/signals (admin): the new signal's notification, written once per tier
-- channel that may see it (a starter signal 3 rows, pro 2, elite 1), whatever the number
-- of users: each user's feed derives it when read (sql/notifications/list.sql). One id
-- for all its rows, drawn from the notifications id sequence so that it never equals a
-- user's own notification id. Reads the signal by its primary key; no other index read.
-- $1 signal id, $2 signal tier, $3 title, $4 body
WITH item AS (
    SELECT nextval('notifications_id_seq') AS id
)
INSERT INTO signal_notifications (audience, id, signal_id, title, body, created_at)
SELECT audience, item.id, s.id, $3, $4, s.created_at
FROM signals s
CROSS JOIN item
CROSS JOIN unnest(enum_range($2::tier, NULL)) AS audience
WHERE s.id = $1
