-- Serves GET /api/signals?symbol=... (admin): every signal of one symbol, newest first.
-- Relies on idx_signal_symbol_created (symbol, created_at DESC, id DESC): equality on
-- symbol, then index order is page order.
-- $1 symbol (upper-case), $2 is_active filter (NULL: all), $3/$4 cursor, $5 rows to fetch
SELECT id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
       is_active, note, created_at
FROM signals
WHERE symbol = $1
  AND ($2::boolean IS NULL OR is_active = $2)
  AND (created_at, id) < ($3, $4)
ORDER BY created_at DESC, id DESC
LIMIT $5
