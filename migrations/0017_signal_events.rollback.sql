-- Drops the signal events and their counter (open streams lose their resume points).
-- squawk-ignore-file ban-drop-table -- only 0017 and the stream code use them.

SET LOCAL lock_timeout = '5s';
DROP TABLE IF EXISTS signal_events;
DROP TABLE IF EXISTS signal_event_counter;
