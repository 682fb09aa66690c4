-- transactional: false
-- Drops idx_signal_events_created without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_signal_events_created;
