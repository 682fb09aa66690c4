-- Serves POST /api/signals and PATCH /api/signals/{id}: records the change as the next
-- stream event, inside the signal's own transaction. The counter's row lock is held until
-- commit, so events commit in id order with no holes. Relies on the counter's primary key.
-- $1 kind ('signal' or 'signal.updated'), $2 signal id, $3 signal tier, $4 Signal JSON
WITH next AS (
    UPDATE signal_event_counter SET last_id = last_id + 1 RETURNING last_id
)
INSERT INTO signal_events (id, kind, signal_id, tier, payload)
SELECT last_id, $1, $2, $3::tier, $4::json FROM next
RETURNING id
