-- Store a new comment once, in the state the rules gave it: a repeated call with the same
-- comment id changes nothing. Flood and duplicate rules are checked again here, atomically.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- KEYS[16] private data   KEYS[17] comment locator   KEYS[18] email index
-- KEYS[19] parent comment hash (the comment's own key when it replies to nothing)
-- KEYS[20] duplicate fingerprint   KEYS[21] flood mark of the IP   KEYS[22] flood mark of the email
-- KEYS[23] article settings (its first comment's time starts the auto-closing clock)
-- KEYS[24] events stream (for webhooks)   KEYS[25] every article with comments
-- ARGV[8] sealed private data   ARGV[9] locator record   ARGV[10] parent id or ""
-- ARGV[11] state: pending, approved or spam   ARGV[12] flood interval (ms, 0 = off)
-- ARGV[13] most comments that may wait   ARGV[14] events kept (about; 0: no webhooks, no events)
-- ARGV[15..] comment hash field, value pairs
-- Returns {"created"}, {"exists"}, {"no_parent"}, {"flood", ms to wait},
-- {"duplicate", comment id} or {"queue_full"}.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
local flood_ms = tonumber(ARGV[12])
if flood_ms > 0 then
  local wait = math.max(redis.call('PTTL', KEYS[21]), redis.call('PTTL', KEYS[22]))
  if wait > 0 then
    return {'flood', wait}
  end
end
if ARGV[11] == 'pending' and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[13]) then
  return {'queue_full'}
end
local original = redis.call('GET', KEYS[20])
if original then
  return {'duplicate', original}
end
if ARGV[10] ~= '' then
  if redis.call('HGET', KEYS[19], 'status') ~= 'approved' then
    return {'no_parent'}
  end
  redis.call('HINCRBY', KEYS[19], 'replies', 1)
end

redis.call('HSET', KEYS[1], unpack(ARGV, 15))
redis.call('SET', KEYS[16], ARGV[8])
redis.call('HSET', KEYS[17], COMMENT_ID, ARGV[9])
redis.call('ZADD', KEYS[18], 0, COMMENT_ID)
redis.call('SET', KEYS[20], COMMENT_ID)
if flood_ms > 0 then
  redis.call('SET', KEYS[21], COMMENT_ID, 'PX', flood_ms)
  redis.call('SET', KEYS[22], COMMENT_ID, 'PX', flood_ms)
end
redis.call('HSETNX', KEYS[23], 'first_comment_ms', ARGV[4])
redis.call('ZADD', KEYS[25], 'NX', ARGV[4], ARGV[6])
reindex(nil, ARGV[11])
if ARGV[11] == 'approved' then
  publish()
end
if ARGV[11] ~= 'spam' and ARGV[14] ~= '0' then
  redis.call('XADD', KEYS[24], 'MAXLEN', '~', ARGV[14], '*', 'type', 'comment.' .. ARGV[11], 'comment_id', COMMENT_ID,
    'article_id', ARGV[6], 'status', ARGV[11], 'moderator', '')
end
return {'created'}
