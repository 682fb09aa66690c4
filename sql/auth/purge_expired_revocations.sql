-- Serves the periodic clean-up: a revoked token past its expiry fails the signature
-- check anyway, so its row is no longer needed. Relies on idx_revoked_expires.
DELETE FROM revoked_tokens
WHERE expires_at < now() - interval '1 hour'
