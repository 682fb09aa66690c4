-- Records revoked tokens in a user's revocation hash.
--
-- KEYS[1]  the user's revoked-token hash (see keys.revoked)
-- KEYS[2]  the user's generation counter (bumped by every write to the user)
-- ARGV[1]  when the list is the user's complete set from PostgreSQL: the generation read
--          before PostgreSQL was asked (sets `_synced` if it is still current);
--          '' when it adds one revocation (the hash stays "unknown" if it was)
-- ARGV[2]  time to live of the hash in ms
-- ARGV[3..] jti, expiry-ms pairs
--
-- A single logout never marks the hash complete: only a full load from PostgreSQL does,
-- so a hash that Redis lost and one logout re-created still sends checks to PostgreSQL.
-- A load that raced with a deactivation (which drops this hash and bumps the generation)
-- does not mark it complete either: PostgreSQL answered before the deactivation.

for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if ARGV[1] ~= '' and ARGV[1] == (redis.call('GET', KEYS[2]) or '0') then
  redis.call('HSET', KEYS[1], '_synced', '1')
end
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
