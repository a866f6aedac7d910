-- Rename one field of a hash, in one step (`news-comments migrate-keys`: a field named by an
-- email hash in hex gets today's shorter name).
-- KEYS[1] the hash   ARGV[1] old field   ARGV[2] new field
-- ARGV[3] "sum": add the old value to the new field's (counts); "keep": keep the new field's
-- value when it has one
-- Returns 1 when renamed, 0 when there was no old field.
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then
  return 0
end
if ARGV[3] == 'sum' then
  redis.call('HINCRBY', KEYS[1], ARGV[2], value)
else
  redis.call('HSETNX', KEYS[1], ARGV[2], value)
end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
