-- transactional: false
-- Drops idx_signal_symbol_created without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_signal_symbol_created;
