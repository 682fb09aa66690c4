-- Drops the signal events and their counter (open streams lose their resume points).
DROP TABLE IF EXISTS signal_events;
DROP TABLE IF EXISTS signal_event_counter;
