-- Serves GET /api/admin/revenue: every revenue figure in ONE statement, replacing four
-- separate queries: payments summed with sum(...) FILTER per period (00:00 UTC today,
-- Monday 00:00 UTC, the 1st 00:00 UTC; bounds computed once), and active subscriptions
-- counted and summed per tier (MRR = sum of the active plans' monthly prices).
-- Sequential scans: every payment and every subscription row contributes; no index.
WITH bounds AS (
    SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS today,
           date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS week,
           date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
), paid AS (
    SELECT coalesce(sum(amount_cents), 0) AS total,
           coalesce(sum(amount_cents) FILTER (WHERE created_at >= (SELECT today FROM bounds)),
                    0) AS today,
           coalesce(sum(amount_cents) FILTER (WHERE created_at >= (SELECT week FROM bounds)),
                    0) AS week,
           coalesce(sum(amount_cents) FILTER (WHERE created_at >= (SELECT month FROM bounds)),
                    0) AS month
    FROM payments
), active AS (
    SELECT count(*)                                                      AS subscriptions,
           coalesce(sum(price_cents), 0)                                 AS mrr,
           count(*) FILTER (WHERE tier = 'starter')                      AS starter_subscriptions,
           coalesce(sum(price_cents) FILTER (WHERE tier = 'starter'), 0) AS starter_mrr_cents,
           count(*) FILTER (WHERE tier = 'pro')                          AS pro_subscriptions,
           coalesce(sum(price_cents) FILTER (WHERE tier = 'pro'), 0)     AS pro_mrr_cents,
           count(*) FILTER (WHERE tier = 'elite')                        AS elite_subscriptions,
           coalesce(sum(price_cents) FILTER (WHERE tier = 'elite'), 0)   AS elite_mrr_cents
    FROM subscriptions
    WHERE status = 'active'
)
SELECT paid.total AS total_revenue_cents,
       paid.today AS revenue_today_cents,
       paid.week  AS revenue_this_week_cents,
       paid.month AS revenue_this_month_cents,
       active.subscriptions AS active_subscriptions,
       active.mrr AS mrr_cents,
       active.starter_subscriptions, active.starter_mrr_cents,
       active.pro_subscriptions, active.pro_mrr_cents,
       active.elite_subscriptions, active.elite_mrr_cents,
       now() AS generated_at
FROM paid, active
