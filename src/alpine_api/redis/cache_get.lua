-- Read a cached response, or elect one caller to compute it (stampede protection), for
-- a request whose lookup the gate did not make (gate.lua does the same for the others).
--
-- KEYS[1]  generation counter of the namespace   KEYS[2] entry hash {g, b, z}
-- KEYS[3]  compute lock
-- ARGV[1]  lock time to live in ms                ARGV[2] token naming this caller
-- ARGV[3]  'z' to prefer the gzip form of the body, else 'b'
--
-- Returns {state, body | false, generation, 1 if that body is gzip}: state 1 = hit,
-- 2 = miss and this caller holds the lock (compute, then cache_set), 3 = miss while
-- another caller computes (wait). An entry written under an older generation is a miss:
-- writes bump the generation instead of scanning for keys to delete.

local gen = redis.call('GET', KEYS[1]) or '0'
local entry = redis.call('HMGET', KEYS[2], 'g', 'b', 'z')
if entry[1] == gen and entry[2] then
  if ARGV[3] == 'z' and entry[3] and entry[3] ~= '' then
    return {1, entry[3], gen, 1}
  end
  return {1, entry[2], gen, 0}
end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[1]) then
  return {2, false, gen, 0}
end
return {3, false, gen, 0}
