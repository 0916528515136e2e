-- When a URL first answered with this body (site/lanyard_site/api/conditional.py), in one
-- round trip. KEYS[1]: the URL's key ("<etag> <seconds>"); ARGV: the body's ETag, now in
-- seconds, the key's expiry in seconds. The stored time when the ETag is the stored one;
-- else the ETag is stored with a time later than the one before (so If-Modified-Since
-- never matches a changed body), and that time is returned.
local seen = redis.call('GET', KEYS[1])
local earlier = 0
if seen then
  local space = string.find(seen, ' ', 1, true)
  if space then
    earlier = tonumber(string.sub(seen, space + 1)) or 0
    if string.sub(seen, 1, space - 1) == ARGV[1] and earlier > 0 then
      return earlier
    end
  end
end
local now = math.max(tonumber(ARGV[2]), earlier + 1)
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. string.format('%d', now), 'EX', tonumber(ARGV[3]))
return now
