-- The live generation and the change-log entries after a reader's last one, in one call
-- (digest/graph/changes.py). KEYS[1] = the live pointer, KEYS[2] = the change log,
-- KEYS[3] = its counter. ARGV[1], ARGV[2] = what goes before and after the generation in
-- a key's base, ARGV[3] = the "built" marker's suffix, ARGV[4] = the reader's last seq
-- (-1: it has none), ARGV[5] = the most entries worth returning (past that the reader
-- starts over). Returns {generation, seq, entries}: generation -1 without a pointer,
-- 0 for a generation without its marker (as graph_live.lua).
local generation = -1
local gen = redis.call('GET', KEYS[1])
if gen then
  generation = 0
  if redis.call('EXISTS', ARGV[1] .. gen .. ARGV[2] .. ARGV[3]) == 1 then generation = tonumber(gen) end
end
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local since = tonumber(ARGV[4])
local entries = {}
if since >= 0 and since < seq and seq - since <= tonumber(ARGV[5]) then
  entries = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. since, seq)
end
return {generation, seq, entries}
