-- Pops up to ARGV[1] ids; while a rebuild runs, also notes them in the dirty set.
local ids = redis.call('SPOP', KEYS[1], ARGV[1])
if #ids > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SADD', KEYS[3], unpack(ids))
end
return ids
