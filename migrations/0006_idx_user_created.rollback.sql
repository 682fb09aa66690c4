-- transactional: false
-- Drops idx_user_created without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_user_created;
