-- Signal notifications derived when read (fan-out on read) instead of one row per user.
-- A published signal becomes ONE feed item with one id, stored once per tier channel that
-- may see it (starter: 3 rows, pro: 2, elite: 1): a user's signal notifications are the
-- rows of their current tier's channel published after their sign-up. Read state is per
-- user: a read-all watermark (notification_read_state: everything created at or before
-- read_through is read, own rows and signal items alike) plus per-item marks above it for
-- signal items (signal_notification_reads); own billing/system rows keep `is_read`.
-- Item ids come from the notifications id sequence, so a signal item's id never equals an
-- own notification's id: ids are unique in every feed.
-- The tables start empty; 0016_signal_notifications_data moves existing data into them.
-- depends: 0013_user_counts

-- The foreign keys lock users and signals briefly: give up rather than queue their
-- writes behind a long transaction.
SET LOCAL lock_timeout = '5s';

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
