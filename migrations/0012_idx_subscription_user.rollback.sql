-- transactional: false
-- Drops idx_subscription_user without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_subscription_user;
