-- The upcoming part of many people's events sets in one call (digest/nightly/friend_events.py):
-- one script call instead of a pipeline of one command per person. The ids come as one
-- comma-separated argument and each person's events go back as one comma-separated
-- string: the client packed each argument and parsed each reply element one by one, and
-- for a person following 6,000 people that was most of the cost (25 -> 14 ms, measured).
-- ARGV: key prefix, low score, high score, the key suffixes (person ids) joined by commas.
local out = {}
for id in string.gmatch(ARGV[4], '[^,]+') do
  out[#out + 1] = table.concat(redis.call('ZRANGEBYSCORE', ARGV[1] .. id, ARGV[2], ARGV[3]), ',')
end
return out
