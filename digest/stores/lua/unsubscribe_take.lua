-- The next entries a replay applies, oldest first: those a replay that died left in
-- the processing list (they are older), else up to ARGV[1] pending ones, moved to
-- the processing list in one step so that no other command sees them in neither.
-- KEYS[1] pending, KEYS[2] processing.
local n = tonumber(ARGV[1])
local held = redis.call('LRANGE', KEYS[2], 0, n - 1)
if #held > 0 then return held end
local taken = redis.call('LRANGE', KEYS[1], 0, n - 1)
if #taken > 0 then
  redis.call('LTRIM', KEYS[1], #taken, -1)
  redis.call('RPUSH', KEYS[2], unpack(taken))
end
return taken
