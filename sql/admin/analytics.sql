-- Serves GET /api/admin/analytics: every user figure of the dashboard in ONE statement
-- with sum(...) FILTER clauses, replacing eight separate COUNT queries over users.
-- Reads user_counts (users per sign-up day, tier and activity; kept current by a trigger
-- on users, see migrations/0013_user_counts.sql): a few hundred rows, read whole, so it
-- needs no index and costs well under a millisecond at any number of users.
-- Periods start at 00:00 UTC today, Monday 00:00 UTC this week and the 1st 00:00 UTC this
-- month; the bounds are computed once (InitPlans), not per row.
WITH bounds AS (
    SELECT (now() AT TIME ZONE 'UTC')::date AS today,
           date_trunc('week', now() AT TIME ZONE 'UTC')::date AS week,
           date_trunc('month', now() AT TIME ZONE 'UTC')::date AS month
)
SELECT coalesce(sum(users), 0)::bigint                                            AS total_users,
       coalesce(sum(users) FILTER (WHERE is_active), 0)::bigint                   AS active_users,
       coalesce(sum(users) FILTER (WHERE day >= (SELECT today FROM bounds)), 0)::bigint
                                                                                  AS new_users_today,
       coalesce(sum(users) FILTER (WHERE day >= (SELECT week FROM bounds)), 0)::bigint
                                                                                  AS new_users_this_week,
       coalesce(sum(users) FILTER (WHERE day >= (SELECT month FROM bounds)), 0)::bigint
                                                                                  AS new_users_this_month,
       coalesce(sum(users) FILTER (WHERE tier = 'starter'), 0)::bigint            AS starter,
       coalesce(sum(users) FILTER (WHERE tier = 'pro'), 0)::bigint                AS pro,
       coalesce(sum(users) FILTER (WHERE tier = 'elite'), 0)::bigint              AS elite,
       now()                                                                      AS generated_at
FROM user_counts
