-- Applies a list of edits to the live generation and to the one being built, if any, and
-- notes which keys they touched in the change log (digest/graph/changes.py).
-- KEYS[1] = the live pointer, KEYS[2] = the building pointer, KEYS[3] = the change log,
-- KEYS[4] = its counter. ARGV[1], ARGV[2] = what goes before and after the generation in a
-- key's base (keys.graph_base_parts), ARGV[3] = JSON [[command, key suffix, args...], ...],
-- ARGV[4] = how many change-log entries to keep, ARGV[5] = a random number to start the
-- counter from when it is new (a log begun again after Redis lost it must not look to a
-- reader like the continuation of the one it followed), ARGV[6] = the most key suffixes an
-- entry names, ARGV[7] = what an entry says instead past that (changes.ANYTHING).
local before, after = ARGV[1], ARGV[2]
local edits = cjson.decode(ARGV[3])
local allowed = {SADD=true, SREM=true, ZADD=true, ZREM=true, DEL=true}
local gens = {}
local live = redis.call('GET', KEYS[1])
local building = redis.call('GET', KEYS[2])
if live then table.insert(gens, live) end
if building and building ~= live then table.insert(gens, building) end
for _, edit in ipairs(edits) do
  if not allowed[edit[1]] then return redis.error_reply('graph edit not allowed: ' .. tostring(edit[1])) end
end
for _, gen in ipairs(gens) do
  local base = before .. gen .. after
  for _, edit in ipairs(edits) do
    local args = {}
    for i = 3, #edit do args[#args + 1] = edit[i] end
    redis.call(edit[1], base .. edit[2], unpack(args))
  end
end
local touched = {}
for _, edit in ipairs(edits) do touched[#touched + 1] = edit[2] end
-- An edit of many keys (a big event moved) is logged as "anything": readers start over,
-- and the log's entries stay small.
if #touched > tonumber(ARGV[6]) then touched = {ARGV[7]} end
local seq = redis.call('INCR', KEYS[4])
if seq == 1 then seq = redis.call('INCRBY', KEYS[4], ARGV[5]) end
redis.call('ZADD', KEYS[3], seq, seq .. '|' .. table.concat(touched, ','))
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', seq - tonumber(ARGV[4]))
return #gens
