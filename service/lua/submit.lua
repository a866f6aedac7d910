-- Store a new comment as pending, once: a repeated call with the same comment id changes nothing.
-- KEYS[1] comment hash        KEYS[2] private data     KEYS[3] comment locator
-- KEYS[4] global pending      KEYS[5] article pending  KEYS[6] email index
-- KEYS[7] parent comment hash (the comment's own key when it replies to nothing)
-- ARGV[1] comment id   ARGV[2] sealed private data   ARGV[3] locator record
-- ARGV[4] parent id, or "" for a top-level comment    ARGV[5..] comment hash field, value pairs
-- Returns "created", "exists" or "no_parent".
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 'exists'
end
if ARGV[4] ~= '' then
  if redis.call('HGET', KEYS[7], 'status') ~= 'approved' then
    return 'no_parent'
  end
  redis.call('HINCRBY', KEYS[7], 'replies', 1)
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('SET', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('ZADD', KEYS[5], 0, ARGV[1])
redis.call('ZADD', KEYS[6], 0, ARGV[1])
return 'created'
