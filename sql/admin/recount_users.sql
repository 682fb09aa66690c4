-- Serves `alpine-api seed`: after a bulk load that skipped triggers (COPY with
-- session_replication_role = replica), sets every user_counts row to the true count.
-- Users are only added by a load, never removed, so every existing row is recomputed.
-- One pass over users (idx_user_tier_active, index-only).
INSERT INTO user_counts (day, tier, is_active, users)
SELECT (created_at AT TIME ZONE 'UTC')::date, tier, is_active, count(*)
FROM users
GROUP BY 1, 2, 3
ON CONFLICT (day, tier, is_active) DO UPDATE SET users = EXCLUDED.users
