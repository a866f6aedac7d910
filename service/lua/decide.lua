-- Move a comment to a decided state, with its indexes, in one step.
-- KEYS[1] comment hash
-- KEYS[2..5] global state indexes: pending, approved, rejected, spam
-- KEYS[6..9] article state indexes: pending, approved, rejected, spam
-- KEYS[10] article roots   KEYS[11] article live counts   KEYS[12] the comment's thread
-- KEYS[13] article list version   KEYS[14] published counts of all articles
-- ARGV[1] comment id   ARGV[2] new state   ARGV[3] moderator   ARGV[4] decided at (RFC 3339)
-- ARGV[5] reason or ""   ARGV[6] root id   ARGV[7] root created (ms)   ARGV[8] created (ms)
-- ARGV[9] a new random list version, set when the public list changes   ARGV[10] article id
-- Returns {"missing"}, {"unchanged", state} or {"changed", previous state}.
local slot = {pending = 0, approved = 1, rejected = 2, spam = 3}
local comment_id, new_state = ARGV[1], ARGV[2]
local old_state = redis.call('HGET', KEYS[1], 'status')
if not old_state or slot[old_state] == nil then
  return {'missing'}
end
if old_state == new_state then
  return {'unchanged', old_state}
end

redis.call('ZREM', KEYS[2 + slot[old_state]], comment_id)
redis.call('ZREM', KEYS[6 + slot[old_state]], comment_id)
redis.call('ZADD', KEYS[2 + slot[new_state]], 0, comment_id)
redis.call('ZADD', KEYS[6 + slot[new_state]], 0, comment_id)
redis.call('HSET', KEYS[1], 'status', new_state, 'decided_by', ARGV[3], 'decided_at', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'reason', ARGV[5])
else
  redis.call('HDEL', KEYS[1], 'reason')
end

local root_id = ARGV[6]
if new_state == 'approved' then
  if comment_id ~= root_id then
    -- A reply stays in its thread once published, so it can stand as a placeholder later.
    redis.call('ZADD', KEYS[12], ARGV[8], comment_id)
  end
  if redis.call('HINCRBY', KEYS[11], root_id, 1) == 1 then
    redis.call('ZADD', KEYS[10], ARGV[7], root_id)
  end
elseif old_state == 'approved' then
  if redis.call('HINCRBY', KEYS[11], root_id, -1) <= 0 then
    redis.call('HDEL', KEYS[11], root_id)
    redis.call('ZREM', KEYS[10], root_id)
  end
end
if new_state == 'approved' or old_state == 'approved' then
  redis.call('SET', KEYS[13], ARGV[9])
  local published = redis.call('ZCARD', KEYS[7])
  if published > 0 then
    redis.call('HSET', KEYS[14], ARGV[10], published)
  else
    redis.call('HDEL', KEYS[14], ARGV[10])
  end
end
return {'changed', old_state}
