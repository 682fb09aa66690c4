-- Serves GET /api/admin/analytics: every user figure of the dashboard in ONE statement
-- (one pass over users with count(*) FILTER), replacing eight separate COUNT queries.
-- Periods start at 00:00 UTC today, Monday 00:00 UTC this week and the 1st 00:00 UTC this
-- month; the bounds are computed once (InitPlans), not per row. Counts every user once:
-- idx_user_tier_active (tier, is_active, created_at, id) holds every column used here, so
-- PostgreSQL reads it alone (a parallel index-only scan), not the wider table.
WITH bounds AS (
    SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS today,
           date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS week,
           date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
)
SELECT count(*)                                                          AS total_users,
       count(*) FILTER (WHERE is_active)                                 AS active_users,
       count(*) FILTER (WHERE created_at >= (SELECT today FROM bounds))  AS new_users_today,
       count(*) FILTER (WHERE created_at >= (SELECT week FROM bounds))   AS new_users_this_week,
       count(*) FILTER (WHERE created_at >= (SELECT month FROM bounds))  AS new_users_this_month,
       count(*) FILTER (WHERE tier = 'starter')                          AS starter,
       count(*) FILTER (WHERE tier = 'pro')                              AS pro,
       count(*) FILTER (WHERE tier = 'elite')                            AS elite,
       now()                                                             AS generated_at
FROM users
