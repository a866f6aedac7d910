-- Take a reader's personal data off one comment in one step: the private data, the lookups by
-- email hash, and (when asked) the name, website, avatar and text of the public record.
-- Registered on its own (no _publication.lua): the comment keeps its state and indexes.
-- Every key is in the comment's bucket (one hash slot); the email's flood mark, a per-client
-- key elsewhere, is removed by the caller.
-- KEYS[1] comment hash   KEYS[2] private data   KEYS[3] the bucket's comment locator
-- KEYS[4] the bucket's email index   KEYS[5] the bucket's approved comments per email hash
-- KEYS[6] duplicate fingerprint   KEYS[7] article list version
-- KEYS[8] the comment's revisions (go with the text, when the text is replaced)
-- ARGV[1] comment id   ARGV[2] its locator record without email hash or fingerprint
-- ARGV[3] a new random list version
-- ARGV[4] the email hash whose approved count in the bucket goes, or "" to keep it
-- ARGV[5] a new name for the public record (its website and avatar go), or "" to keep it
-- ARGV[6] "1" to replace the text with ARGV[7] (body) and ARGV[8] (body_html)
-- ARGV[9] the state the comment must still be in, or "" for any
-- ARGV[10] the decided_at it must still have, or "" for any
-- KEYS[9] the bucket's events stream   ARGV[11] events kept (about; 0: no events)
-- ARGV[12] article id: redacting a published comment changes the public list, told by an
-- article.changed event
-- Returns {"missing"}, {"kept"} (ARGV[9] or ARGV[10] no longer hold), or {the comment's state,
-- 1 if it had private data to delete else 0, 1 if it was in the email index else 0}.
local COMMENT_ID = ARGV[1]
local state = redis.call('HGET', KEYS[1], 'status')
if not state then
  redis.call('ZREM', KEYS[4], COMMENT_ID)
  return {'missing'}
end
if (ARGV[9] ~= '' and state ~= ARGV[9])
    or (ARGV[10] ~= '' and redis.call('HGET', KEYS[1], 'decided_at') ~= ARGV[10]) then
  return {'kept'}
end

local had_private = redis.call('DEL', KEYS[2])
local was_indexed = redis.call('ZREM', KEYS[4], COMMENT_ID)
if redis.call('HEXISTS', KEYS[3], COMMENT_ID) == 1 then
  redis.call('HSET', KEYS[3], COMMENT_ID, ARGV[2])
end
if redis.call('GET', KEYS[6]) == COMMENT_ID then
  redis.call('DEL', KEYS[6])
end
if ARGV[4] ~= '' then
  redis.call('HDEL', KEYS[5], ARGV[4])
end

if state ~= 'deleted' and (ARGV[5] ~= '' or ARGV[6] == '1') then
  if ARGV[5] ~= '' then
    redis.call('HSET', KEYS[1], 'name', ARGV[5])
    redis.call('HDEL', KEYS[1], 'website', 'avatar')
  end
  if ARGV[6] == '1' then
    redis.call('HSET', KEYS[1], 'body', ARGV[7], 'body_html', ARGV[8])
    redis.call('DEL', KEYS[8])
  end
  if state == 'approved' then
    -- The public list changed: a new version, so no cached page shows the old record.
    redis.call('SET', KEYS[7], ARGV[3])
    if ARGV[11] ~= '0' then
      redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[11], '*', 'type', 'article.changed',
        'comment_id', COMMENT_ID, 'article_id', ARGV[12], 'status', '', 'moderator', '')
    end
  end
end
return {state, had_private, was_indexed}
