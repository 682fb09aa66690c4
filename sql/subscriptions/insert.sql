-- Serves POST /api/subscriptions: the new active subscription, one month long. The
-- unique index subscriptions_one_active_per_user refuses a second active one.
-- $1 user id, $2 tier, $3 price in cents, $4 currency
INSERT INTO subscriptions (user_id, tier, price_cents, currency, current_period_end)
VALUES ($1, $2::tier, $3, $4, now() + interval '1 month')
RETURNING id, tier, status, price_cents, currency, started_at, current_period_end,
          canceled_at
