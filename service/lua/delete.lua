-- Delete a comment and all its private data in one step. A comment that has replies stays as a
-- placeholder (state "deleted", no name, text, avatar or private data) so its thread holds.
-- KEYS[1] comment hash   KEYS[2] private data   KEYS[3] comment locator
-- KEYS[4..7] global state indexes: pending, approved, rejected, spam
-- KEYS[8..11] article state indexes: pending, approved, rejected, spam
-- KEYS[12] article roots   KEYS[13] article live counts   KEYS[14] the comment's thread
-- KEYS[15] email index     KEYS[16] parent comment hash (the comment's own key when none)
-- KEYS[17] article list version   KEYS[18] published counts of all articles
-- ARGV[1] comment id   ARGV[2] root id   ARGV[3] "1" when the comment replies to another
-- ARGV[4] a new random list version   ARGV[5] article id
-- Returns "missing", "deleted" or "placeholder".
local slot = {pending = 0, approved = 1, rejected = 2, spam = 3}
local comment_id, root_id = ARGV[1], ARGV[2]
local state = redis.call('HGET', KEYS[1], 'status')
if not state or slot[state] == nil then
  return 'missing'
end

redis.call('ZREM', KEYS[4 + slot[state]], comment_id)
redis.call('ZREM', KEYS[8 + slot[state]], comment_id)
if state == 'approved' then
  if redis.call('HINCRBY', KEYS[13], root_id, -1) <= 0 then
    redis.call('HDEL', KEYS[13], root_id)
    redis.call('ZREM', KEYS[12], root_id)
  end
  local published = redis.call('ZCARD', KEYS[9])
  if published > 0 then
    redis.call('HSET', KEYS[18], ARGV[5], published)
  else
    redis.call('HDEL', KEYS[18], ARGV[5])
  end
end
redis.call('SET', KEYS[17], ARGV[4])
redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[3], comment_id)
redis.call('ZREM', KEYS[15], comment_id)

if tonumber(redis.call('HGET', KEYS[1], 'replies') or '0') > 0 then
  redis.call('HDEL', KEYS[1], 'name', 'website', 'body', 'body_html', 'avatar',
    'decided_by', 'decided_at', 'reason')
  redis.call('HSET', KEYS[1], 'status', 'deleted')
  return 'placeholder'
end
redis.call('DEL', KEYS[1])
if comment_id ~= root_id then
  redis.call('ZREM', KEYS[14], comment_id)
end
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[16]) == 1 then
  redis.call('HINCRBY', KEYS[16], 'replies', -1)
end
return 'deleted'
