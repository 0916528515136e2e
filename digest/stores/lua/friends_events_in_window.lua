-- The upcoming part of many people's events sets in one call (digest/friends.py): one
-- script call instead of a pipeline of one command per person, which the client packs
-- one by one (most of the cost for a person following 6,000 people).
-- ARGV: key prefix, low score, high score, then key suffixes (person ids).
local out = {}
for i = 4, #ARGV do out[#out + 1] = redis.call('ZRANGEBYSCORE', ARGV[1] .. ARGV[i], ARGV[2], ARGV[3]) end
return out
