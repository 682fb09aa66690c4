-- Moves an existing database to derived signal notifications (see 0014): every signal
-- gets its item in each tier channel that may see it, with the text its per-user rows
-- carried (else text made from the signal) and an id from the notifications id sequence;
-- each read per-user signal row becomes a read mark of that user on the item; the
-- per-user rows that the derived feed now shows are deleted. Rows for a signal older than
-- the user's account (a derived feed would not show them) stay as they are: nothing is
-- lost, nothing shows twice. Signals that already have their item keep it.
-- depends: 0015_idx_signal_notif_audience_created

WITH texts AS (
    SELECT DISTINCT ON (signal_id) signal_id, title, body
    FROM notifications
    WHERE kind = 'signal' AND signal_id IS NOT NULL
    ORDER BY signal_id, id
), items AS (
    SELECT s.id AS signal_id, s.tier, s.created_at,
           nextval('notifications_id_seq') AS id,
           coalesce(t.title, 'New ' || s.direction || ' signal: ' || s.symbol) AS title,
           coalesce(t.body, 'Entry ' || s.entry_price || ', target ' || s.target_price
                            || ', stop loss ' || s.stop_loss || ', confidence '
                            || round(s.confidence * 100) || '%.') AS body
    FROM signals s
    LEFT JOIN texts t ON t.signal_id = s.id
    WHERE NOT EXISTS (SELECT FROM signal_notifications x WHERE x.signal_id = s.id)
)
INSERT INTO signal_notifications (audience, id, signal_id, title, body, created_at)
SELECT audience, i.id, i.signal_id, i.title, i.body, i.created_at
FROM items i
CROSS JOIN LATERAL unnest(enum_range(i.tier, NULL)) AS audience;

INSERT INTO signal_notification_reads (user_id, notification_id)
SELECT n.user_id, sn.id
FROM notifications n
JOIN signals s ON s.id = n.signal_id
JOIN signal_notifications sn ON sn.signal_id = s.id AND sn.audience = s.tier
WHERE n.kind = 'signal' AND n.is_read
ON CONFLICT DO NOTHING;

DELETE FROM notifications n
USING signals s, users u
WHERE n.kind = 'signal'
  AND s.id = n.signal_id
  AND u.id = n.user_id
  AND s.created_at > u.created_at;
