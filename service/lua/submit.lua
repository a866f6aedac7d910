-- Store a new comment once, in the state the rules gave it: a repeated call with the same
-- comment id changes nothing. The duplicate rule is checked again here, atomically (flood marks
-- are per client, in other slots: claimed before this step; the queue cap is site-wide, read
-- just before it).
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- KEYS[16] the bucket's comment locator
-- KEYS[17] the bucket's email index shard of the author (unused when ARGV[7] is "")
-- KEYS[18] the article's duplicate fingerprints
-- KEYS[19] article settings (its first comment's time starts the auto-closing clock)
-- KEYS[20] the bucket's events stream (for webhooks)   KEYS[21] the bucket's articles
-- ARGV[8] locator record   ARGV[9] parent id or ""   ARGV[10] state: pending, approved or spam
-- ARGV[11] events kept (about; 0: no webhooks, no events)
-- ARGV[12] "1": the parent may be in any state (imports keep each comment's own state; a reply
-- published under an unpublished parent shows it as a placeholder); "0": it must be published
-- ARGV[13] duplicate fingerprint   ARGV[14] the comment's record (JSON, service/records.py)
-- Returns {"created"}, {"exists"}, {"no_parent"} or {"duplicate", comment id}.
CHANGES.stream, CHANGES.kept = KEYS[20], ARGV[11]
if redis.call('HEXISTS', KEYS[1], COMMENT_ID) == 1 then
  return {'exists'}
end
local original = redis.call('HGET', KEYS[18], ARGV[13])
if original then
  return {'duplicate', original}
end
if ARGV[9] ~= '' then
  local parent = read_record(ARGV[9])
  if not parent or (parent.s ~= 'approved' and ARGV[12] ~= '1') then
    return {'no_parent'}
  end
  parent.rp = (parent.rp or 0) + 1
  write_record(ARGV[9], parent)
end

redis.call('HSET', KEYS[1], COMMENT_ID, ARGV[14])
redis.call('HSET', KEYS[16], COMMENT_ID, ARGV[8])
if AUTHOR ~= '' then
  index_email(KEYS[17], AUTHOR, COMMENT_ID)
end
redis.call('HSET', KEYS[18], ARGV[13], COMMENT_ID)
redis.call('HSETNX', KEYS[19], 'first_comment_ms', ARGV[4])
redis.call('ZADD', KEYS[21], 'NX', ARGV[4], ARGV[6])
reindex(nil, ARGV[10])
-- The comment's event comes before the article.changed a publication adds.
if ARGV[10] ~= 'spam' and ARGV[11] ~= '0' then
  redis.call('XADD', KEYS[20], 'MAXLEN', '~', ARGV[11], '*', 'type', 'comment.' .. ARGV[10],
    'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'status', ARGV[10], 'moderator', '')
end
if ARGV[10] == 'approved' then
  publish()
end
return {'created'}
