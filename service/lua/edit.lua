-- A moderator edits a comment's text; the original and every edit stay, for moderators.
-- KEYS[1] the article's comment records   KEYS[2] the comment's revisions (list of JSON)
-- KEYS[3] article list version   KEYS[4] the bucket's audit stream
-- ARGV[1] new text   ARGV[2] when the comment was written (RFC 3339)   ARGV[3] moderator
-- ARGV[4] when (RFC 3339, for the revisions)   ARGV[5] comment id   ARGV[6] article id
-- ARGV[7] a new list version   ARGV[8] audit length cap
-- KEYS[5] the bucket's events stream   ARGV[9] events kept (about; 0: no events): editing a
-- published comment changes the public list, told by an article.changed event
-- ARGV[10] when, as the record keeps it: seconds from the comment's creation second (a number;
-- any other text is kept as text, see service/records.py)
-- Returns "missing", "unchanged" or "edited".
local raw = redis.call('HGET', KEYS[1], ARGV[5])
if not raw then
  return 'missing'
end
local record = cjson.decode(raw)
local state = record.s
if state == 'deleted' then
  return 'missing'
end
local body = record.b
if body == ARGV[1] then
  return 'unchanged'
end
if redis.call('LLEN', KEYS[2]) == 0 then
  redis.call('RPUSH', KEYS[2], cjson.encode({body = body, by = 'author', at = ARGV[2]}))
end
redis.call('RPUSH', KEYS[2], cjson.encode({body = ARGV[1], by = ARGV[3], at = ARGV[4]}))
record.b, record.eb, record.ea = ARGV[1], ARGV[3], tonumber(ARGV[10]) or ARGV[10]
redis.call('HSET', KEYS[1], ARGV[5], cjson.encode(record))
if state == 'approved' then
  redis.call('SET', KEYS[3], ARGV[7])
  if ARGV[9] ~= '0' then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[9], '*', 'type', 'article.changed',
      'comment_id', ARGV[5], 'article_id', ARGV[6], 'status', '', 'moderator', '')
  end
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*',
  'action', 'edit', 'comment_id', ARGV[5], 'article_id', ARGV[6], 'moderator', ARGV[3],
  'before', state, 'after', state, 'reason_code', '', 'reason', '')
return 'edited'
