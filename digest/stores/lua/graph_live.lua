-- The live generation of the graph, if it is whole: its number; 0 when the pointer names
-- a generation without its "built" marker (evicted, or restored from old data); nil when
-- there is no pointer. KEYS[1] = the pointer; ARGV[1], ARGV[2] = what goes before and
-- after the generation in a key's base (keys.graph_base_parts), ARGV[3] = the marker's
-- suffix (keys.GraphSuffix.BUILT).
local gen = redis.call('GET', KEYS[1])
if not gen then return nil end
if redis.call('EXISTS', ARGV[1] .. gen .. ARGV[2] .. ARGV[3]) == 1 then return tonumber(gen) end
return 0
