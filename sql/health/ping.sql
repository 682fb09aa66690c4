-- Serves GET /health: proves a pooled connection can run a statement. No table, no index.
SELECT 1
