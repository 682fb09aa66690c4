-- Signal notifications derived when read (fan-out on read) instead of one row per user.
-- A published signal becomes ONE feed item with one id, stored once per tier channel that
-- may see it (starter: 3 rows, pro: 2, elite: 1): a user's signal notifications are the
-- rows of their current tier's channel published after their sign-up. Read state is per
-- user: a read-all watermark (notification_read_state: everything created at or before
-- read_through is read, own rows and signal items alike) plus per-item marks above it for
-- signal items (signal_notification_reads); own billing/system rows keep `is_read`.
-- Item ids come from the notifications id sequence, so a signal item's id never equals an
-- own notification's id: ids are unique in every feed.
-- Moving existing data: every signal gets its item (with the text its per-user rows
-- carried, else text made from the signal); each read per-user signal row becomes a read
-- mark; the per-user rows that the derived feed now shows are deleted. Rows for a signal
-- older than the user's account (the derived feed would not show them) stay as they are.
-- depends: 0013_user_counts

CREATE TABLE signal_notifications (
    audience   tier        NOT NULL,
    id         bigint      NOT NULL,
    signal_id  bigint      NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    title      text        NOT NULL CHECK (length(title) <= 200),
    body       text        NOT NULL CHECK (length(body) <= 4000),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (audience, id),
    UNIQUE (signal_id, audience)
);

CREATE TABLE notification_read_state (
    user_id      bigint      PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    read_through timestamptz NOT NULL
);

CREATE TABLE signal_notification_reads (
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    notification_id bigint NOT NULL,
    PRIMARY KEY (user_id, notification_id)
);

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
