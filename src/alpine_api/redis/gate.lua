-- One round trip per /api request: the sliding-window rate-limit decision and, for a
-- request with a valid token, the user's revocation state and cached record.
--
-- KEYS[1]  rate window (sorted set: member = request nonce, score = time in ms)
-- KEYS[2]  (optional) the user's revoked-token hash, see keys.revoked
-- KEYS[3]  (optional) the user's cached record
-- KEYS[4]  (optional) the user's generation counter (bumped by every write to the user)
-- KEYS[5]  (optional) generation counter of a cached response's namespace
-- KEYS[6]  (optional) that cached response (hash {g, b, z}, see cache_set.lua)
-- ARGV[1]  limit (0 = rate limiting off)     ARGV[2] window in ms
-- ARGV[3]  nonce naming this request          ARGV[4] the token's jti (with KEYS[2])
-- ARGV[5]  (with KEYS[6]) 'z' to prefer the gzip form of the cached body, else 'b'
--
-- Returns {allowed 0|1, remaining, reset_ms, revoked (-1 unknown | 0 | 1), record | false,
--          generation, cached body | false, 1 if that body is gzip}.
-- A record re-filled from PostgreSQL is stored only if the generation is still the one
-- read here (record_set.lua), so a read that raced with a write (a deactivation, a tier
-- change) cannot put back the old record.
-- Sliding log: exact (no burst at window edges) and rejected requests are not recorded,
-- so a client that keeps retrying is let in as soon as its oldest request ages out.
-- Time comes from the Redis server (TIME), so app servers' clocks do not matter.
-- Idempotent per nonce: a retried call (reply lost to a timeout or a failover) is not
-- counted twice.

local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local allowed, remaining, reset = 1, 0, 0

if limit > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local key = KEYS[1]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  if redis.call('ZSCORE', key, ARGV[3]) then
    -- The client's retry of a call whose reply it lost: already counted and let in.
  elseif used < limit then
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('PEXPIRE', key, window)
    used = used + 1
  else
    allowed = 0
  end
  remaining = limit - used
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if oldest[2] then
    reset = tonumber(oldest[2]) + window - now
  else
    reset = window
  end
end

local revoked, record, generation = -1, false, '0'
if KEYS[2] then
  if redis.call('HEXISTS', KEYS[2], '_synced') == 1 then
    revoked = redis.call('HEXISTS', KEYS[2], ARGV[4])
  end
  record = redis.call('GET', KEYS[3])
  generation = redis.call('GET', KEYS[4]) or '0'
end

-- A cached response for this request, if current: served straight from the gate
-- (one round trip in all), after the caller has checked the record it comes with.
local body, gzipped = false, 0
if KEYS[6] and allowed == 1 then
  local entry = redis.call('HMGET', KEYS[6], 'g', 'b', 'z')
  if entry[1] and entry[1] == (redis.call('GET', KEYS[5]) or '0') then
    if ARGV[5] == 'z' and entry[3] and entry[3] ~= '' then
      body, gzipped = entry[3], 1
    else
      body = entry[2]
    end
  end
end

return {allowed, remaining, reset, revoked, record, generation, body, gzipped}
