-- Remembers what a group of digests mentioned, in one round trip: per key, ZADD the new
-- (score, event) pairs, drop events already past, refresh the expiry. A key that is gone
-- is left gone: the next read loads it whole from the ledger, which has these too.
-- Sending these as three pipelined commands per digest cost more in the client than the
-- rest of the ledger work. KEYS: mention sets. ARGV: past day, ttl, then per key a pair
-- count n and n (score, event id) pairs.
local past, ttl, at = ARGV[1], ARGV[2], 3
for _, key in ipairs(KEYS) do
  local pairs_count = tonumber(ARGV[at])
  if redis.call('EXISTS', key) == 1 then
    if pairs_count > 0 then
      redis.call('ZADD', key, unpack(ARGV, at + 1, at + 2 * pairs_count))
    end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', past)
    redis.call('EXPIRE', key, ttl)
  end
  at = at + 1 + 2 * pairs_count
end
return #KEYS
