-- Serves each worker's stream hub: drops events older than the 24 h resume window (with
-- an hour's margin). Relies on idx_signal_events_created.
-- No parameters.
DELETE FROM signal_events WHERE created_at < now() - interval '25 hours'
