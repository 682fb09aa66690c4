-- Durable signal events for GET /api/signals/stream: one row per signal published or
-- changed, written in the same transaction as the signal, kept 24 hours for resuming.
-- Ids come from the one-row counter, not a sequence: a publisher increments it inside its
-- transaction and holds that row lock until commit, so events commit in id order and the
-- ids have no holes. A reader that has seen id N therefore has everything up to N, and a
-- jump from N to N + 2 on the live channel means N + 1 was missed.
-- depends: 0013_user_counts

CREATE TABLE signal_event_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last_id  bigint  NOT NULL CHECK (last_id >= 0)
);

INSERT INTO signal_event_counter (only_row, last_id) VALUES (true, 0);

CREATE TABLE signal_events (
    id         bigint      PRIMARY KEY,
    kind       text        NOT NULL CHECK (kind IN ('signal', 'signal.updated')),
    signal_id  bigint      NOT NULL,
    tier       tier        NOT NULL,
    payload    json        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
