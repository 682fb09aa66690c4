-- One round trip per /api request: the rate-limit decision and, for a request with a
-- valid token, the user's revocation state and cached record.
--
-- KEYS[1]  the client's limiter state (hash, see below)
-- KEYS[2]  (optional) the user's revoked-token hash, see keys.revoked
-- KEYS[3]  (optional) the user's cached record
-- KEYS[4]  (optional) the user's generation counter (bumped by every write to the user)
-- KEYS[5]  (optional) generation counter of a cached response's namespace
-- KEYS[6..] (with KEYS[5]) that cached response (hash {g, b, z}, see cache_set.lua) and
--          its compute lock: one (entry, lock) pair, or one pair per tier (starter, pro,
--          elite) for a response shared by a tier, of which the user's record picks one
-- ARGV[1]  nonce naming this call (also the compute lock's token)
-- ARGV[2]  the token's jti (with KEYS[2])
-- ARGV[3]  (with KEYS[5]) 'z' to prefer the gzip form of the cached body, else 'b',
--          then the compute lock's time to live in ms ('z5000')
-- ARGV[4]  how many requests of the client this call decides (1 with KEYS[2]; a per-IP
--          client's concurrent requests are decided in groups, see gate.py)
-- ARGV[5..] limits as (limit, window ms) pairs, none = rate limiting off. Without KEYS[2]
--          the first pair is the client's. With KEYS[2] there is one pair per tier
--          (starter, pro, elite) and the user's record picks it.
--
-- Returns {policy, admitted (how many of the ARGV[4] requests are let in: the first ones),
--          remaining, reset_ms, revoked (-1 unknown | 0 | 1), record | false, generation,
--          cached body | false, 1 if that body is gzip, lookup, the namespace's
--          generation, number of the (entry, lock) pair read}.
-- lookup (as cache_get.lua's state): 0 not looked up, 1 hit, 2 miss and this call took the
-- compute lock, 3 miss while another caller holds it.
-- policy: the number of the pair the request was counted under (1, 2, 3), 0 when the
-- token is refused (revoked, user inactive) and -1 when its validity is unknown here
-- (no record or incomplete revocations): neither is counted, the caller counts the
-- request against the client IP or, once PostgreSQL vouched for the user, against the
-- user (a second call, without KEYS[2], on the same limiter key).
--
-- A record re-filled from PostgreSQL is stored only if the generation is still the one
-- read here (record_set.lua), so a read that raced with a write (a deactivation, a tier
-- change) cannot put back the old record.

local TIERS = {starter = 1, pro = 2, elite = 3}
-- Nonces of the last admitting calls kept for spotting retries, each with the number it
-- admitted in four hex digits (gate.py's MAX_GROUP).
local RECENT = 8

-- Sliding window over sub-windows: a window of W ms is cut into `slots` sub-windows of
-- `step` ms (1 s for windows up to 60 s, else W/60 rounded up to whole seconds), aligned
-- to Redis server time. A request is admitted when the requests admitted in the current
-- sub-window and the `slots - 1` before it number fewer than the limit, and counts until
-- its sub-window leaves the window: at most `limit` in any window of `slots * step` ms
-- that starts on a sub-window boundary. The hash holds one field per non-empty
-- sub-window (at most `slots`, 60 for the defaults, whatever the limit) plus:
--   n  requests counted in live sub-windows     h  oldest sub-window that may have any
--   s  step (a different step starts afresh)    r  the last RECENT admitting calls
-- A call for `count` requests admits min(count, room left) of them. Rejected requests are
-- not counted; a retried call (reply lost to a timeout or a failover, same nonce) among
-- the client's last RECENT admitting calls is answered with what it admitted then and
-- not counted again.
local function take(key, limit, window, nonce, count)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local step = math.ceil(window / 60000) * 1000
  local slots = math.ceil(window / step)
  local cur = math.floor(now / step)
  local first = cur - slots + 1
  local state = redis.call('HMGET', key, 'n', 'h', 's', 'r', cur)
  local total, head, recent = tonumber(state[1]) or 0, tonumber(state[2]) or cur, state[4] or '|'
  local current = tonumber(state[5]) or 0
  local dirty = false
  if state[3] and tonumber(state[3]) ~= step then
    redis.call('DEL', key)
    total, head, recent, current = 0, cur, '|', 0
  end
  if head < first then
    -- Sub-windows [head, first) left the window: drop them, find the oldest one left.
    -- The key expires a window after its last sub-window began, so head >= cur - 2 * slots.
    local indexes = {}
    for i = head, cur do
      indexes[#indexes + 1] = i
    end
    local counts = redis.call('HMGET', key, unpack(indexes))
    local gone = {}
    head = cur
    for j = 1, #indexes do
      local count = tonumber(counts[j])
      if count then
        if indexes[j] < first then
          total = total - count
          gone[#gone + 1] = indexes[j]
        elseif indexes[j] < head then
          head = indexes[j]
        end
      end
    end
    if #gone > 0 then
      redis.call('HDEL', key, unpack(gone))
    end
    dirty = true
  end
  local admitted = 0
  local seen = string.find(recent, '|' .. nonce, 1, true)
  if seen then
    -- The client's retry of a call whose reply it lost: already counted and let in.
    admitted = tonumber(string.sub(recent, seen + #nonce + 1, seen + #nonce + 4), 16)
  elseif total < limit then
    admitted = math.min(count, limit - total)
    total, current = total + admitted, current + admitted
    -- Nonces have one length (gate.py), so RECENT entries fill a fixed prefix.
    local entry = '|' .. nonce .. string.format('%04x', admitted)
    recent = string.sub(entry .. recent, 1, RECENT * #entry + 1)
    redis.call('HSET', key, cur, current, 'n', total, 'h', head, 's', step, 'r', recent)
    if current == admitted then
      -- First admission in this sub-window: the key outlives it by a whole window.
      redis.call('PEXPIRE', key, slots * step)
    end
    dirty = false
  end
  if dirty then
    redis.call('HSET', key, 'n', total, 'h', head, 's', step)
  end
  local reset = window
  if total > 0 then
    reset = (head + slots) * step - now
  end
  return admitted, math.max(limit - total, 0), reset
end

local policy, allowed, remaining, reset = 0, tonumber(ARGV[4]), 0, 0
local revoked, record, generation = -1, false, '0'
local tier = 0  -- the user's tier (1..3) once the record vouches for them
if KEYS[2] then
  if redis.call('HEXISTS', KEYS[2], '_synced') == 1 then
    revoked = redis.call('HEXISTS', KEYS[2], ARGV[2])
  end
  record = redis.call('GET', KEYS[3])
  generation = redis.call('GET', KEYS[4]) or '0'
  if revoked == 1 then
    policy = 0
  elseif revoked == 0 and record then
    local user = cjson.decode(record)
    tier = TIERS[user.tier] or 0
    policy = user.is_active and (TIERS[user.tier] or 1) or 0
  else
    policy = -1
  end
else
  policy = 1
end
if ARGV[5] and policy > 0 then
  local limit, window = tonumber(ARGV[3 + 2 * policy]), tonumber(ARGV[4 + 2 * policy])
  allowed, remaining, reset = take(KEYS[1], limit, window, ARGV[1], tonumber(ARGV[4]))
end

-- The cached response for this request. Current: returned, and the caller serves it (one
-- round trip in all) after checking the record it comes with. Absent or stale: this call
-- takes the compute lock for the caller unless another caller holds it, and returns the
-- generation to store the computed body under (cache_set.lua), so a miss costs this call
-- and the write. An entry written under an older generation is stale: writes bump the
-- generation instead of scanning for keys to delete.
local body, gzipped, lookup, cache_generation, pair = false, 0, 0, '0', 0
if KEYS[5] and policy > 0 and allowed == 1 then
  pair = 1
  if #KEYS > 7 then
    pair = tier  -- one pair per tier
  end
end
if pair > 0 then
  local entry_key, lock_key = KEYS[4 + 2 * pair], KEYS[5 + 2 * pair]
  cache_generation = redis.call('GET', KEYS[5]) or '0'
  local entry = redis.call('HMGET', entry_key, 'g', 'b', 'z')
  if entry[1] == cache_generation and entry[2] then
    lookup = 1
    if string.sub(ARGV[3], 1, 1) == 'z' and entry[3] and entry[3] ~= '' then
      body, gzipped = entry[3], 1
    else
      body = entry[2]
    end
  elseif redis.call('SET', lock_key, ARGV[1], 'NX', 'PX', string.sub(ARGV[3], 2)) then
    lookup = 2
  else
    lookup = 3
  end
end

return {
  policy, allowed, remaining, reset, revoked, record, generation,
  body, gzipped, lookup, cache_generation, pair,
}
