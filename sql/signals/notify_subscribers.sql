-- Serves POST /api/signals (admin): one `signal` notification for every active user whose
-- tier is at or above the new signal's, as one INSERT ... SELECT in the create transaction.
-- Reads users by idx_user_tier_active (tier, is_active, ...; an index-only scan) when few
-- users qualify (elite signals); a starter signal reaches nearly everyone, where a
-- sequential scan is the right plan. Rows go in in user id order: the notification indexes
-- lead with user_id, so they are filled left to right instead of at random pages (measured
-- about 2x faster for 75k-280k recipients).
-- A starter signal on a large user base writes one row per active user (about 120 s for
-- 930k users on 2 cores, half of it the foreign-key checks): it may take longer than
-- the pool's command timeout.
-- timeout: 600
-- $1 signal id, $2 signal tier, $3 title, $4 body
INSERT INTO notifications (user_id, kind, title, body, signal_id)
SELECT id, 'signal', $3, $4, $1
FROM users
WHERE is_active
  AND tier >= $2::tier
ORDER BY id
