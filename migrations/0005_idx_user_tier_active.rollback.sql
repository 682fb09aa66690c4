-- transactional: false
-- Drops idx_user_tier_active without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_user_tier_active;
