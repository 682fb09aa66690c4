-- Serves each worker's stream hub: the last event id committed (start position, and the
-- once-a-second check that nothing was missed while Valkey was away). Counter primary key.
-- No parameters.
SELECT last_id FROM signal_event_counter
