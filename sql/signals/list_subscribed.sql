-- Serves GET /api/signals/subscribed without a symbol: one page of active signals the
-- user's tier may see, newest first, at or above a minimum confidence.
-- Relies on idx_signal_active_confidence_created (partial WHERE is_active, keyed on
-- created_at DESC, id DESC, confidence and tier included): the scan walks the index in
-- page order from the cursor, so there is no sort and it stops after $5 rows.
-- $1 user's tier, $2 min confidence, $3/$4 cursor (created_at, id), $5 rows to fetch
SELECT id, symbol, direction, entry_price, target_price, stop_loss, confidence, tier,
       is_active, note, created_at
FROM signals
WHERE is_active
  AND tier <= $1::tier
  AND confidence >= $2
  AND (created_at, id) < ($3, $4)
ORDER BY created_at DESC, id DESC
LIMIT $5
