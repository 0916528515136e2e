-- Every subscriber's follow-set size, in one round trip: a pipeline of one SCARD per
-- subscriber costs the client more than the Redis strategy's own work for a small
-- follow set. ARGV: follows prefix, subscriber ids…
local sizes = {}
for i = 2, #ARGV do sizes[#sizes + 1] = redis.call('SCARD', ARGV[1] .. ARGV[i]) end
return sizes
