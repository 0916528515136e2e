-- The members of many sets in one call (digest/friends.py: the speakers of many events).
-- ARGV: key prefix, then key suffixes (event ids).
local out = {}
for i = 2, #ARGV do out[#out + 1] = redis.call('SMEMBERS', ARGV[1] .. ARGV[i]) end
return out
