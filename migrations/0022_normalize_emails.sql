-- Emails are stored NFKC-normalised, then lower-cased (auth.schemas.normalize_email),
-- and every lookup normalises its input the same way. An account stored earlier under
-- another spelling of its address (full-width letters) takes the normalised one, so
-- that it can still log in; unless that address already belongs to another account
-- (the row is then a look-alike of it, and keeps its stored spelling, which no
-- normalised input reaches any more). Of several rows that normalise to one free
-- address, the oldest takes it. A single pass over users; ASCII rows are unchanged.
-- depends: 0019_user_tokens_valid_after

WITH renamed AS (
    SELECT DISTINCT ON (target) id, target
    FROM (SELECT id, email, created_at, lower(normalize(email, NFKC)) AS target FROM users) AS u
    WHERE target <> email
    ORDER BY target, created_at, id
)
UPDATE users
SET email = renamed.target, updated_at = now()
FROM renamed
WHERE users.id = renamed.id
  AND NOT EXISTS (SELECT 1 FROM users taken WHERE taken.email = renamed.target);
