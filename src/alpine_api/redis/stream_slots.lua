-- Takes one of a user's open-stream slots, if one is free.
--
-- KEYS[1]  the user's stream set (see keys.stream_slots): member -> lease expiry (ms)
-- ARGV[1]  now (ms), ARGV[2] lease (ms), ARGV[3] the limit, ARGV[4] this stream's member
--
-- Leases that were not renewed (a crashed worker's streams) are dropped first, so a slot
-- held by a dead process frees itself after one lease. Returns 1 when taken, else 0.

local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[4])
redis.call('PEXPIRE', KEYS[1], lease)
return 1
