-- Serves GET /api/signals/subscribed?symbol=...: the same page for one symbol.
-- Relies on idx_signal_symbol_created (symbol, created_at DESC, id DESC): equality on
-- symbol, then index order is page order: no sort; is_active, tier and confidence are
-- checked on the rows the scan meets.
-- $1 user's tier, $2 min confidence, $3 symbol (upper-case), $4/$5 cursor, $6 rows to fetch
SELECT id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
       is_active, note, created_at
FROM signals
WHERE is_active
  AND symbol = $3
  AND tier <= $1::tier
  AND confidence >= $2
  AND (created_at, id) < ($4, $5)
ORDER BY created_at DESC, id DESC
LIMIT $6
