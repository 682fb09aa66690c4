-- The user counts trigger takes its two counter rows in key order (day, tier, is_active).
-- It used to decrement the old row, then increment the new one: three users changing
-- tier at once (pro -> elite, elite -> starter, starter -> pro) each held one counter row
-- and waited for the next, and PostgreSQL broke the cycle by failing one subscription with
-- a deadlock. With one order for every transaction no such cycle can form.
-- depends: 0013_user_counts

-- Replacing the trigger function waits for transactions that use it: give up rather than
-- queue behind a long one with every write to users queued behind us.
SET LOCAL lock_timeout = '5s';

CREATE FUNCTION user_counts_decrement(d date, t tier, active boolean) RETURNS void
LANGUAGE sql AS $$
    UPDATE user_counts SET users = users - 1
    WHERE day = d AND tier = t AND is_active = active
$$;

CREATE FUNCTION user_counts_increment(d date, t tier, active boolean) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO user_counts (day, tier, is_active, users)
    VALUES (d, t, active, 1)
    ON CONFLICT (day, tier, is_active) DO UPDATE SET users = user_counts.users + 1
$$;

CREATE OR REPLACE FUNCTION user_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_day date;
    new_day date;
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM user_counts_increment(
            (NEW.created_at AT TIME ZONE 'UTC')::date, NEW.tier, NEW.is_active);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM user_counts_decrement(
            (OLD.created_at AT TIME ZONE 'UTC')::date, OLD.tier, OLD.is_active);
    ELSE
        old_day := (OLD.created_at AT TIME ZONE 'UTC')::date;
        new_day := (NEW.created_at AT TIME ZONE 'UTC')::date;
        IF (new_day, NEW.tier, NEW.is_active) < (old_day, OLD.tier, OLD.is_active) THEN
            PERFORM user_counts_increment(new_day, NEW.tier, NEW.is_active);
            PERFORM user_counts_decrement(old_day, OLD.tier, OLD.is_active);
        ELSE
            PERFORM user_counts_decrement(old_day, OLD.tier, OLD.is_active);
            PERFORM user_counts_increment(new_day, NEW.tier, NEW.is_active);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
