-- transactional: false
-- Drops idx_signal_created without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_signal_created;
