-- transactional: false
-- Drops idx_payment_user without blocking writes.

DROP INDEX CONCURRENTLY IF EXISTS idx_payment_user;
