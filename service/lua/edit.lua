-- A moderator edits a comment's text; the original and every edit stay, for moderators.
-- KEYS[1] comment hash   KEYS[2] its revisions (list of JSON)   KEYS[3] article list version
-- KEYS[4] the bucket's audit stream
-- ARGV[1] new text   ARGV[2] its HTML   ARGV[3] moderator   ARGV[4] when (RFC 3339)
-- ARGV[5] comment id   ARGV[6] article id   ARGV[7] a new list version   ARGV[8] audit length cap
-- KEYS[5] the bucket's events stream   ARGV[9] events kept (about; 0: no events): editing a
-- published comment changes the public list, told by an article.changed event
-- Returns "missing", "unchanged" or "edited".
local state = redis.call('HGET', KEYS[1], 'status')
if not state or state == 'deleted' then
  return 'missing'
end
local body = redis.call('HGET', KEYS[1], 'body')
if body == ARGV[1] then
  return 'unchanged'
end
if redis.call('LLEN', KEYS[2]) == 0 then
  local created_at = redis.call('HGET', KEYS[1], 'created_at')
  redis.call('RPUSH', KEYS[2], cjson.encode({body = body, by = 'author', at = created_at}))
end
redis.call('RPUSH', KEYS[2], cjson.encode({body = ARGV[1], by = ARGV[3], at = ARGV[4]}))
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'body_html', ARGV[2],
  'edited_by', ARGV[3], 'edited_at', ARGV[4])
if state == 'approved' then
  redis.call('SET', KEYS[3], ARGV[7])
  if ARGV[9] ~= '0' then
    redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[9], '*', 'type', 'article.changed',
      'comment_id', ARGV[5], 'article_id', ARGV[6], 'status', '', 'moderator', '')
  end
end
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*',
  'action', 'edit', 'comment_id', ARGV[5], 'article_id', ARGV[6], 'moderator', ARGV[3],
  'before', state, 'after', state, 'reason_code', '', 'reason', '', 'at', ARGV[4])
return 'edited'
