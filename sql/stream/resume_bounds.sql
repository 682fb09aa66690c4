-- Serves GET /api/signals/stream with Last-Event-ID: the last event id ever given and the
-- oldest id of the last 24 hours (NULL when there is none), to tell whether a resume point
-- can be replayed in full. Relies on idx_signal_events_created.
-- No parameters.
SELECT c.last_id,
       (SELECT min(e.id) FROM signal_events e
        WHERE e.created_at >= now() - interval '24 hours') AS oldest_id
FROM signal_event_counter c
