-- Store a computed response unless a write bumped the generation meanwhile, and
-- release the compute lock if this caller still holds it.
--
-- KEYS[1]  generation counter   KEYS[2] entry hash   KEYS[3] compute lock
-- ARGV[1]  generation the lookup read (gate.lua or cache_get.lua)   ARGV[2] body
-- ARGV[3]  ttl in ms   ARGV[4] the token that took the lock (the lookup's)
-- ARGV[5]  the body gzip-compressed, or '' when it is too small to be worth compressing

local stored = 0
if (redis.call('GET', KEYS[1]) or '0') == ARGV[1] then
  redis.call('HSET', KEYS[2], 'g', ARGV[1], 'b', ARGV[2], 'z', ARGV[5])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
  stored = 1
end
if redis.call('GET', KEYS[3]) == ARGV[4] then
  redis.call('DEL', KEYS[3])
end
return stored
