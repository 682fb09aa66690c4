-- Records revoked tokens in a user's revocation hash.
--
-- KEYS[1]  the user's revoked-token hash (see keys.revoked)
-- ARGV[1]  '1' when the list is the user's complete set from PostgreSQL (sets `_synced`),
--          '0' when it adds one revocation (the hash stays "unknown" if it was)
-- ARGV[2]  time to live of the hash in ms
-- ARGV[3..] jti, expiry-ms pairs
--
-- A single logout never marks the hash complete: only a full load from PostgreSQL does,
-- so a hash that Redis lost and one logout re-created still sends checks to PostgreSQL.

for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], '_synced', '1')
end
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
