-- transactional: false
-- Drops idx_user_active_admin without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_user_active_admin;
