-- Take a comment's open reports away (a moderator decided on it), or every trace of its reports
-- (it was deleted or its author's data erased). Registered on its own (no _publication.lua).
-- KEYS[1] the comment's open reports   KEYS[2] the bucket's reported comments
-- KEYS[3] the comment's reporters
-- ARGV[1] comment id   ARGV[2] "1" to forget the reporters too
-- Returns the number of open reports taken away.
local count = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[3])
end
return count
