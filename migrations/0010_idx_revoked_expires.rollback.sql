-- transactional: false
-- Drops idx_revoked_expires without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_revoked_expires;
