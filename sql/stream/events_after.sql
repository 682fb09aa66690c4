-- Serves GET /api/signals/stream (replay after Last-Event-ID) and each worker's catch-up
-- after a missed live message: events in (after, upto] a tier may see, oldest first.
-- Relies on the primary key (id range).
-- $1 after this id, $2 up to this id, $3 the reader's tier, $4 at most this many rows
SELECT id, kind, tier::text AS tier, payload
FROM signal_events
WHERE id > $1 AND id <= $2 AND tier <= $3::tier
ORDER BY id
LIMIT $4
