-- Move a comment to a decided state, with its indexes, in one step.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.   KEYS[16] the bucket's audit stream
-- KEYS[17] the bucket's events stream (for webhooks: comment.approved, or comment.rejected for
-- reject and spam; article.changed when the public list changes)
-- ARGV[8] new state   ARGV[9] moderator   ARGV[11] reason or ""
-- ARGV[10] decided at, as the record keeps it: seconds from the comment's creation second (a
-- number; any other text is kept as text, see service/records.py)
-- ARGV[12] reason code or ""   ARGV[13] the audit stream's approximate length cap
-- ARGV[14] events kept (about; 0: no webhooks, no events)
-- KEYS[18] the comment's open reports   KEYS[19] the bucket's reported comments: a decision,
-- whatever it is, answers the readers' reports (its reporters stay, so they report it once)
-- Returns {"missing"}, {"unchanged", state, record} or {"changed", previous state, record},
-- the record (JSON) as it is after the step.
CHANGES.stream, CHANGES.kept = KEYS[17], ARGV[14]
local new_state = ARGV[8]
local record = read_record(COMMENT_ID)
if not record or SLOT[record.s] == nil then
  return {'missing'}
end
local old_state = record.s
redis.call('DEL', KEYS[18])
redis.call('ZREM', KEYS[19], COMMENT_ID)
if old_state == new_state then
  return {'unchanged', old_state, cjson.encode(record)}
end

AUTHOR = record.e or ''
reindex(old_state, new_state)
record.s, record.by, record.at = new_state, ARGV[9], tonumber(ARGV[10]) or ARGV[10]
record.why = ARGV[11] ~= '' and ARGV[11] or nil
record.rc = ARGV[12] ~= '' and ARGV[12] or nil
local encoded = cjson.encode(record)
redis.call('HSET', KEYS[1], COMMENT_ID, encoded)
-- The comment's event comes before the article.changed a publication adds.
if ARGV[14] ~= '0' then
  local event = new_state == 'approved' and 'comment.approved' or 'comment.rejected'
  redis.call('XADD', KEYS[17], 'MAXLEN', '~', ARGV[14], '*', 'type', event,
    'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'status', new_state, 'moderator', ARGV[9])
end
if new_state == 'approved' then
  publish()
elseif old_state == 'approved' then
  unpublish()
end
redis.call('XADD', KEYS[16], 'MAXLEN', '~', ARGV[13], '*',
  'action', ({approved = 'approve', rejected = 'reject', spam = 'spam'})[new_state],
  'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'moderator', ARGV[9],
  'before', old_state, 'after', new_state, 'reason_code', ARGV[12], 'reason', ARGV[11])
return {'changed', old_state, encoded}
