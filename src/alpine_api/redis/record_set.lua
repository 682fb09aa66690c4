-- Store a user's record re-read from PostgreSQL, unless a write to the user bumped
-- their generation since the request gate read it (see gate.lua).
--
-- KEYS[1]  the user's generation counter   KEYS[2] the user's cached record
-- ARGV[1]  generation read by the gate      ARGV[2] record   ARGV[3] ttl in seconds

if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
