-- Serves `alpine-api seed`: the notifications of the signals just loaded, as
-- sql/signals/publish_notification.sql writes one at publishing: one id per signal, drawn
-- from the notifications id sequence, one row per tier channel that may see it. Reads the
-- new signals by primary key range; no other index read.
-- $1 the largest signal id before the load (signals above it are the new ones)
WITH item AS (
    SELECT id AS signal_id, tier, created_at, nextval('notifications_id_seq') AS id,
           'New ' || direction || ' signal: ' || symbol AS title,
           'A ' || direction || ' signal on ' || symbol || ' is in your feed.' AS body
    FROM signals
    WHERE id > $1
)
INSERT INTO signal_notifications (audience, id, signal_id, title, body, created_at)
SELECT audience, item.id, item.signal_id, item.title, item.body, item.created_at
FROM item
CROSS JOIN LATERAL unnest(enum_range(item.tier, NULL)) AS audience
