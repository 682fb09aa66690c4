-- Read a cached response, or elect one caller to compute it (stampede protection).
--
-- KEYS[1]  generation counter of the namespace   KEYS[2] entry hash {g = generation, b = body}
-- KEYS[3]  compute lock
-- ARGV[1]  lock time to live in ms                ARGV[2] token naming this caller
--
-- Returns {state, body | false, generation}: state 1 = hit, 2 = miss and this caller
-- holds the lock (compute, then cache_set), 3 = miss while another caller computes (wait).
-- An entry written under an older generation is a miss: writes bump the generation
-- instead of scanning for keys to delete.

local gen = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('HMGET', KEYS[2], 'g', 'b')
if entry[1] == gen and entry[2] then
  return {1, entry[2], gen}
end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[1]) then
  return {2, false, gen}
end
return {3, false, gen}
