-- Serves GET /api/signals (admin) without a symbol: every signal, optionally only active
-- or only inactive ones, newest first.
-- Relies on idx_signal_created (created_at DESC, id DESC): index order is page order.
-- $1 is_active filter (NULL: all), $2/$3 cursor (created_at, id), $4 rows to fetch
SELECT id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
       is_active, note, created_at
FROM signals
WHERE ($1::boolean IS NULL OR is_active = $1)
  AND (created_at, id) < ($2, $3)
ORDER BY created_at DESC, id DESC
LIMIT $4
