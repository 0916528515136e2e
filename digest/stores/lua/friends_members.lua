-- The members of many sets in one call (digest/nightly/friend_events.py: the speakers of
-- many events), ids in and members out comma-separated as in friends_events_in_window.lua.
-- ARGV: key prefix, the key suffixes (event ids) joined by commas.
local out = {}
for id in string.gmatch(ARGV[2], '[^,]+') do out[#out + 1] = table.concat(redis.call('SMEMBERS', ARGV[1] .. id), ',') end
return out
