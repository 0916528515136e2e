-- Extends the lock only while it is still ours (another replay may hold it after ours
-- expired).
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
