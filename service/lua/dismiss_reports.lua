-- A moderator dismisses a comment's open reports: they go, and a comment the reports took out
-- of publication (still pending) is published again; the reporters stay counted, so the same
-- clients cannot report it again.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- KEYS[16] the comment's open reports   KEYS[17] the bucket's reported comments
-- KEYS[18] the bucket's audit stream   KEYS[19] the bucket's events stream
-- ARGV[8] moderator   ARGV[9] audit length cap   ARGV[10] events kept (about; 0: no events)
-- Returns {"missing"}, {"none", state} (no open reports) or {"dismissed", state after}.
CHANGES.stream, CHANGES.kept = KEYS[19], ARGV[10]
local record = read_record(COMMENT_ID)
local state = record and record.s
if not state or SLOT[state] == nil then
  return {'missing'}
end
local count = redis.call('ZSCORE', KEYS[17], COMMENT_ID)
if not count then
  return {'none', state}
end
local hidden = redis.call('HGET', KEYS[16], 'hidden')
redis.call('DEL', KEYS[16])
redis.call('ZREM', KEYS[17], COMMENT_ID)

local after = state
if hidden and state == 'pending' then
  after = 'approved'
  AUTHOR = record.e or ''
  reindex('pending', 'approved')
  record.s = 'approved'
  write_record(COMMENT_ID, record)
  if ARGV[10] ~= '0' then
    redis.call('XADD', KEYS[19], 'MAXLEN', '~', ARGV[10], '*', 'type', 'comment.approved',
      'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'status', 'approved', 'moderator', ARGV[8])
  end
  publish()
end
redis.call('XADD', KEYS[18], 'MAXLEN', '~', ARGV[9], '*',
  'action', 'dismiss_reports', 'comment_id', COMMENT_ID, 'article_id', ARGV[6],
  'moderator', ARGV[8], 'before', state, 'after', after, 'reason_code', '',
  'reason', tonumber(count) .. ' report(s) dismissed')
return {'dismissed', after}
