-- Take a reader's personal data off one comment in one step: the private data, the lookups by
-- email hash, and (when asked) the name, website, avatar and text of the public record.
-- Registered without _publication.lua (with _email_index.lua): the comment keeps its state and
-- indexes.
-- Every key is in the comment's bucket (one hash slot); the email's flood mark, a per-client
-- key elsewhere, is removed by the caller.
-- KEYS[1] the article's comment records
-- KEYS[2] the bucket's email index shard of the author, as read before this step
-- KEYS[3] the bucket's approved comments per email hash   KEYS[4] the article's fingerprints
-- KEYS[5] article list version
-- KEYS[6] the comment's revisions (go with the text, when the text is replaced)
-- KEYS[7] the bucket's events stream
-- KEYS[8] the comment's open reports   KEYS[9] the bucket's reported comments
-- KEYS[10] the comment's reporters
-- ARGV[1] comment id   ARGV[2] a new random list version
-- ARGV[3] "1" to drop the email's approved count in the bucket
-- ARGV[4] a new name for the public record (its website and avatar go), or "" to keep it
-- ARGV[5] "1" to replace the text with ARGV[6]
-- ARGV[7] the state the comment must still be in, or "" for any
-- ARGV[8] the decided_at it must still have, as the record keeps it (as text: a number of
-- seconds, or RFC 3339 in a record stored before), or "" for any
-- ARGV[9] events kept (about; 0: no events)
-- ARGV[10] article id: redacting a published comment changes the public list, told by an
-- article.changed event
-- ARGV[11] the email hash whose shard KEYS[2] is ("" when the record had none when read)
-- ARGV[12] "1" to take every trace of the readers' reports away too (an erasure: their notes
-- may speak of the reader)
-- Returns {"missing"}, {"kept"} (ARGV[7] or ARGV[8] no longer hold), {"moved"} (the record's
-- email hash is not the one read: read it again), or {the comment's state, 1 if it had
-- private data to delete else 0, 1 if it was in the email index else 0}.
local COMMENT_ID = ARGV[1]
local raw = redis.call('HGET', KEYS[1], COMMENT_ID)
if not raw then
  if ARGV[11] ~= '' then
    unindex_email(KEYS[2], ARGV[11], COMMENT_ID)
  end
  return {'missing'}
end
local record = cjson.decode(raw)
local state = record.s
-- Compared as text: a number of seconds read from JSON is never equal to a string argument.
local decided_at = record.at and tostring(record.at)
if (ARGV[7] ~= '' and state ~= ARGV[7]) or (ARGV[8] ~= '' and decided_at ~= ARGV[8]) then
  return {'kept'}
end
local author = record.e or ''
if author ~= ARGV[11] then
  return {'moved'}
end
if ARGV[12] == '1' then
  redis.call('DEL', KEYS[8], KEYS[10])
  redis.call('ZREM', KEYS[9], COMMENT_ID)
end

local had_private = record.x and 1 or 0
local was_indexed = 0
if author ~= '' then
  was_indexed = unindex_email(KEYS[2], author, COMMENT_ID)
  if ARGV[3] == '1' then
    redis.call('HDEL', KEYS[3], author)
  end
end
if record.f and redis.call('HGET', KEYS[4], record.f) == COMMENT_ID then
  redis.call('HDEL', KEYS[4], record.f)
end
-- A record derives its avatar seed from its email hash when it keeps none (service/records.py):
-- without the hash it keeps the seed itself, unless the name goes below (the avatar with it).
if record.e and record.v == nil then
  record.v = string.sub(redis.sha1hex(record.e), 1, 16)
end
record.x, record.e, record.f = nil, nil, nil

if state ~= 'deleted' and (ARGV[4] ~= '' or ARGV[5] == '1') then
  if ARGV[4] ~= '' then
    record.n, record.w, record.v = ARGV[4], nil, nil
  end
  if ARGV[5] == '1' then
    record.b, record.eb, record.ea = ARGV[6], nil, nil
    redis.call('DEL', KEYS[6])
  end
  if state == 'approved' then
    -- The public list changed: a new version, so no cached page shows the old record.
    redis.call('SET', KEYS[5], ARGV[2])
    if ARGV[9] ~= '0' then
      redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[9], '*', 'type', 'article.changed',
        'comment_id', COMMENT_ID, 'article_id', ARGV[10], 'status', '', 'moderator', '')
    end
  end
end
redis.call('HSET', KEYS[1], COMMENT_ID, cjson.encode(record))
return {state, had_private, was_indexed}
