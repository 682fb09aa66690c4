-- Core schema: users, signals, notifications, subscriptions, payments, revoked tokens.
-- Constraints keep bad data out even when a query is wrong; the API validates first
-- and answers 400, these are the last line.
-- depends:
-- squawk-ignore-file require-lock-timeout -- creates the schema in an empty database: no
-- other session holds a lock on these tables yet.

CREATE TYPE tier AS ENUM ('starter', 'pro', 'elite');  -- declaration order = tier order

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL UNIQUE
                  CHECK (email = lower(email) AND length(email) <= 254 AND email LIKE '%_@_%'),
    password_hash text NOT NULL,
    full_name     text CHECK (length(full_name) <= 200),
    tier          tier NOT NULL DEFAULT 'starter',
    is_active     boolean NOT NULL DEFAULT true,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE signals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    symbol       text NOT NULL CHECK (symbol ~ '^[A-Z0-9./-]{1,20}$'),
    direction    text NOT NULL CHECK (direction IN ('long', 'short')),
    entry_price  double precision NOT NULL CHECK (entry_price > 0 AND entry_price < 'Infinity'),
    target_price double precision NOT NULL CHECK (target_price > 0 AND target_price < 'Infinity'),
    stop_loss    double precision NOT NULL CHECK (stop_loss > 0 AND stop_loss < 'Infinity'),
    confidence   double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    tier         tier NOT NULL DEFAULT 'starter',
    is_active    boolean NOT NULL DEFAULT true,
    note         text CHECK (length(note) <= 2000),
    created_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('signal', 'billing', 'system')),
    title      text NOT NULL CHECK (length(title) <= 200),
    body       text NOT NULL CHECK (length(body) <= 4000),
    signal_id  bigint REFERENCES signals (id) ON DELETE SET NULL,
    is_read    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier               tier NOT NULL,
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'canceled')),
    -- squawk-ignore prefer-bigint-over-int -- cents of one plan price: int reaches $21M
    price_cents        integer NOT NULL CHECK (price_cents >= 0),
    currency           text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    started_at         timestamptz NOT NULL DEFAULT now(),
    current_period_end timestamptz NOT NULL,
    canceled_at        timestamptz,
    CHECK ((status = 'canceled') = (canceled_at IS NOT NULL)),
    CHECK (current_period_end > started_at)
);

-- At most one active subscription per user: a constraint, so concurrent subscribe
-- requests cannot both win. Built here, on an empty table, inside the transaction.
-- squawk-ignore require-concurrent-index-creation -- the table is created above, in this transaction
CREATE UNIQUE INDEX subscriptions_one_active_per_user
    ON subscriptions (user_id) WHERE status = 'active';

CREATE TABLE payments (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    subscription_id bigint NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    -- squawk-ignore prefer-bigint-over-int -- cents of one payment: int reaches $21M
    amount_cents    integer NOT NULL CHECK (amount_cents > 0),
    currency        text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Logged-out access tokens, by JWT id, until they would have expired anyway.
-- The durable record behind the Redis fast path: revocation never depends on Redis.
CREATE TABLE revoked_tokens (
    jti        uuid PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);
