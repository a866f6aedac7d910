-- Keep only the ids still pending in a network's list of pending comments, in one step: ids
-- appended since it was read stay (`Store.pending_from`).
-- KEYS[1] the network's list (a string of ids)   ARGV[1] the list as read   ARGV[2] its ids
-- still pending
local now = redis.call('GET', KEYS[1])
if not now or string.sub(now, 1, #ARGV[1]) ~= ARGV[1] then
  return 0
end
local kept = ARGV[2] .. string.sub(now, #ARGV[1] + 1)
if kept == '' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], kept, 'KEEPTTL')
end
return 1
