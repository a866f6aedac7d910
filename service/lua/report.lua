-- A reader reports a published comment: once per client, ever; when `threshold` distinct
-- clients have open reports on it, it leaves publication and waits for a moderator (pending; a
-- placeholder in its thread while it has published replies), in this same step.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- KEYS[16] the comment's open reports (hash: `n:<reason>` counts, `r:<reporter>` details,
--   `hidden` once the reports took it out of publication)
-- KEYS[17] the comment's reporters (set of keyed client hashes)
-- KEYS[18] the bucket's reported comments (sorted set, scored by open reports)
-- KEYS[19] the bucket's audit stream   KEYS[20] the bucket's events stream
-- ARGV[8] reporter hash   ARGV[9] reason   ARGV[10] the report's details (JSON)
-- ARGV[11] threshold (0: never)   ARGV[12] now (RFC 3339, when the reports hid it)
-- ARGV[13] now (ms)
-- ARGV[14] audit length cap   ARGV[15] events kept (about; 0: no events)
-- ARGV[16] details kept per comment (later reports are counted only)
-- Returns {"repeat"} (this client reported it already), {"missing"} (not published),
-- {"reported", open reports} or {"hidden", open reports}.
CHANGES.stream, CHANGES.kept = KEYS[20], ARGV[15]
local record = read_record(COMMENT_ID)
local state = record and record.s
if state and redis.call('SISMEMBER', KEYS[17], ARGV[8]) == 1 then
  return {'repeat'}
end
if state ~= 'approved' then
  return {'missing'}
end

redis.call('SADD', KEYS[17], ARGV[8])
redis.call('HINCRBY', KEYS[16], 'n:' .. ARGV[9], 1)
local count = tonumber(redis.call('ZINCRBY', KEYS[18], 1, COMMENT_ID))
if count <= tonumber(ARGV[16]) then
  -- Numbered in order of arrival: a hash (a hash table once its values grow) keeps no order.
  local details = cjson.decode(ARGV[10])
  details.n = count
  redis.call('HSET', KEYS[16], 'r:' .. ARGV[8], cjson.encode(details))
end
if ARGV[11] == '0' or count < tonumber(ARGV[11]) then
  return {'reported', count}
end

-- Enough readers: out of publication, into the queue (it waits from now, for the purge).
AUTHOR = record.e or ''
reindex('approved', 'pending')
record.s, record.q = 'pending', tonumber(ARGV[13])
write_record(COMMENT_ID, record)
redis.call('HSET', KEYS[16], 'hidden', ARGV[12])
if ARGV[15] ~= '0' then
  redis.call('XADD', KEYS[20], 'MAXLEN', '~', ARGV[15], '*', 'type', 'comment.reported',
    'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'status', 'pending', 'moderator', '')
end
unpublish()
redis.call('XADD', KEYS[19], 'MAXLEN', '~', ARGV[14], '*',
  'action', 'reported', 'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'moderator', 'readers',
  'before', 'approved', 'after', 'pending', 'reason_code', '',
  'reason', count .. ' readers reported it')
return {'hidden', count}
