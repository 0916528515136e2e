-- Applies a list of edits to the live generation and to the one being built, if any.
-- ARGV[1], ARGV[2] = what goes before and after the generation in a key's base
-- (keys.graph_base_parts), ARGV[3] = JSON [[command, key suffix, args...], ...].
local before, after = ARGV[1], ARGV[2]
local edits = cjson.decode(ARGV[3])
local allowed = {SADD=true, SREM=true, ZADD=true, ZREM=true, DEL=true}
local gens = {}
local live = redis.call('GET', KEYS[1])
local building = redis.call('GET', KEYS[2])
if live then table.insert(gens, live) end
if building and building ~= live then table.insert(gens, building) end
for _, gen in ipairs(gens) do
  local base = before .. gen .. after
  for _, edit in ipairs(edits) do
    local command = edit[1]
    if not allowed[command] then return redis.error_reply('graph edit not allowed: ' .. tostring(command)) end
    local args = {}
    for i = 3, #edit do args[#args + 1] = edit[i] end
    redis.call(command, base .. edit[2], unpack(args))
  end
end
return #gens
