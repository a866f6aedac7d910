-- Move a comment to a decided state, with its indexes, in one step.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- ARGV[8] new state   ARGV[9] moderator   ARGV[10] decided at (RFC 3339)   ARGV[11] reason or ""
-- Returns {"missing"}, {"unchanged", state} or {"changed", previous state}.
local new_state = ARGV[8]
local old_state = redis.call('HGET', KEYS[1], 'status')
if not old_state or SLOT[old_state] == nil then
  return {'missing'}
end
if old_state == new_state then
  return {'unchanged', old_state}
end

reindex(old_state, new_state)
redis.call('HSET', KEYS[1], 'status', new_state, 'decided_by', ARGV[9], 'decided_at', ARGV[10])
if ARGV[11] ~= '' then
  redis.call('HSET', KEYS[1], 'reason', ARGV[11])
else
  redis.call('HDEL', KEYS[1], 'reason')
end
if new_state == 'approved' then
  publish()
elseif old_state == 'approved' then
  unpublish()
end
return {'changed', old_state}
