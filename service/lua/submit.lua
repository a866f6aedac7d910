-- Store a new comment once, in the state the rules gave it: a repeated call with the same
-- comment id changes nothing. The duplicate rule is checked again here, atomically (flood marks
-- are per client, in other slots: claimed before this step; the queue cap is site-wide, read
-- just before it).
-- KEYS[1..15], ARGV[1..7]: see _publication.lua.
-- KEYS[16] private data   KEYS[17] the bucket's comment locator
-- KEYS[18] the bucket's email index of the author (unused when ARGV[7] is "")
-- KEYS[19] parent comment hash (the comment's own key when it replies to nothing)
-- KEYS[20] duplicate fingerprint
-- KEYS[21] article settings (its first comment's time starts the auto-closing clock)
-- KEYS[22] the bucket's events stream (for webhooks)   KEYS[23] the bucket's articles
-- ARGV[8] sealed private data   ARGV[9] locator record   ARGV[10] parent id or ""
-- ARGV[11] state: pending, approved or spam
-- ARGV[12] events kept (about; 0: no webhooks, no events)
-- ARGV[13] "1": the parent may be in any state (imports keep each comment's own state; a reply
-- published under an unpublished parent shows it as a placeholder); "0": it must be published
-- ARGV[14..] comment hash field, value pairs
-- Returns {"created"}, {"exists"}, {"no_parent"} or {"duplicate", comment id}.
CHANGES.stream, CHANGES.kept = KEYS[22], ARGV[12]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
local original = redis.call('GET', KEYS[20])
if original then
  return {'duplicate', original}
end
if ARGV[10] ~= '' then
  local parent_state = redis.call('HGET', KEYS[19], 'status')
  if not parent_state or (parent_state ~= 'approved' and ARGV[13] ~= '1') then
    return {'no_parent'}
  end
  redis.call('HINCRBY', KEYS[19], 'replies', 1)
end

redis.call('HSET', KEYS[1], unpack(ARGV, 14))
redis.call('SET', KEYS[16], ARGV[8])
redis.call('HSET', KEYS[17], COMMENT_ID, ARGV[9])
if ARGV[7] ~= '' then
  redis.call('ZADD', KEYS[18], 0, COMMENT_ID)
end
redis.call('SET', KEYS[20], COMMENT_ID)
redis.call('HSETNX', KEYS[21], 'first_comment_ms', ARGV[4])
redis.call('ZADD', KEYS[23], 'NX', ARGV[4], ARGV[6])
reindex(nil, ARGV[11])
-- The comment's event comes before the article.changed a publication adds.
if ARGV[11] ~= 'spam' and ARGV[12] ~= '0' then
  redis.call('XADD', KEYS[22], 'MAXLEN', '~', ARGV[12], '*', 'type', 'comment.' .. ARGV[11],
    'comment_id', COMMENT_ID, 'article_id', ARGV[6], 'status', ARGV[11], 'moderator', '')
end
if ARGV[11] == 'approved' then
  publish()
end
return {'created'}
