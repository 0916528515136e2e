-- Queue subscription changes for the replay, in their order, each with its move in
-- the suppression set a running batch checks. A script runs whole, with no other
-- command between its steps, and reaches the AOF as one transaction.
-- KEYS[1] the suppression set, KEYS[2] the pending list.
-- ARGV: for each change, its subscription id, 1 (unsubscribe: into the set) or 0
-- (resubscribe: out of it), and its queue entry.
for i = 1, #ARGV, 3 do
  if ARGV[i + 1] == '1' then
    redis.call('SADD', KEYS[1], ARGV[i])
  else
    redis.call('SREM', KEYS[1], ARGV[i])
  end
  redis.call('RPUSH', KEYS[2], ARGV[i + 2])
end
return #ARGV / 3
