-- transactional: false
-- Drops idx_notif_user_created without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_notif_user_created;
