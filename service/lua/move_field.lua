-- Move one field from a hash to another of the same slot, in one step (`news-comments
-- migrate-keys`: a comment's locator entry into its shard).
-- KEYS[1] the hash it is in   KEYS[2] the hash it goes to   ARGV[1] the field
-- Returns 1 when moved, 0 when it was not there.
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], value)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
