-- Delete a comment and all its private data in one step. A comment that has replies stays as a
-- placeholder (state "deleted", no name, text, avatar or private data) so its thread holds.
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- KEYS[16] private data   KEYS[17] the bucket's comment locator
-- KEYS[18] the bucket's email index of the author
-- KEYS[19] parent comment hash (the comment's own key when none)   KEYS[20] duplicate fingerprint
-- ARGV[8] "1" when the comment replies to another
-- ARGV[9] a state the comment must be in to be deleted, or "" for any
-- KEYS[21] the bucket's audit stream   ARGV[10] who deletes   ARGV[11] when (RFC 3339)   ARGV[12] length cap
-- KEYS[22] the comment's revisions (texts a moderator edited)
-- KEYS[23] the bucket's events stream   ARGV[13] events kept (about; 0: no events)
-- Deleting a published comment changes the public list: an article.changed event. Deleting
-- another only renews the list version (what readers see of it does not change).
-- ARGV[14] a moment (ms): keep a comment that joined the queue then or later (its `queued_ms`,
--   else its creation), or "" for no such condition (the purge of stale pending comments)
-- Returns "missing", "kept" (in another state than ARGV[9]), "deleted" or "placeholder".
CHANGES.stream, CHANGES.kept = KEYS[23], ARGV[13]
local state = redis.call('HGET', KEYS[1], 'status')
if not state or SLOT[state] == nil then
  return 'missing'
end
if ARGV[9] ~= '' and state ~= ARGV[9] then
  return 'kept'
end
if ARGV[14] ~= '' then
  local since = redis.call('HGET', KEYS[1], 'queued_ms') or ARGV[4]
  if tonumber(since) >= tonumber(ARGV[14]) then
    return 'kept'
  end
end

reindex(state, nil)
redis.call('XADD', KEYS[21], 'MAXLEN', '~', ARGV[12], '*',
  'action', 'delete', 'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'moderator', ARGV[10],
  'before', state, 'after', 'deleted', 'reason_code', '', 'reason', '', 'at', ARGV[11])
if state == 'approved' then
  unpublish()
else
  redis.call('SET', KEYS[13], ARGV[5])
end
redis.call('DEL', KEYS[16], KEYS[20], KEYS[22])
redis.call('HDEL', KEYS[17], COMMENT_ID)
redis.call('ZREM', KEYS[18], COMMENT_ID)

if tonumber(redis.call('HGET', KEYS[1], 'replies') or '0') > 0 then
  redis.call('HDEL', KEYS[1], 'name', 'website', 'body', 'body_html', 'avatar',
    'decided_by', 'decided_at', 'reason', 'reasons')
  redis.call('HSET', KEYS[1], 'status', 'deleted')
  return 'placeholder'
end
redis.call('DEL', KEYS[1])
if COMMENT_ID ~= ROOT_ID then
  redis.call('ZREM', KEYS[12], COMMENT_ID)
end
if ARGV[8] == '1' and redis.call('EXISTS', KEYS[19]) == 1 then
  redis.call('HINCRBY', KEYS[19], 'replies', -1)
end
return 'deleted'
