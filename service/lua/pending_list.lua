-- Rewrite a network's pending comments kept as a sorted set (ids scored by creation) as today's
-- string of ids, in one step (`news-comments migrate-keys`); its expiry stays.
-- KEYS[1] the network's pending comments
-- Returns 1 when rewritten, 0 when it is not a sorted set.
if redis.call('TYPE', KEYS[1]).ok ~= 'zset' then
  return 0
end
local ttl = redis.call('PTTL', KEYS[1])
local kept = {}
for _, comment_id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if #comment_id == 24 then
    table.insert(kept, comment_id)
  end
end
redis.call('DEL', KEYS[1])
if #kept > 0 then
  redis.call('SET', KEYS[1], table.concat(kept))
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return 1
